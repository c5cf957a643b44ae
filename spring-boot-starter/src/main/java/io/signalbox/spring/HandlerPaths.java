package io.signalbox.spring;

import java.util.List;

/** The request path patterns the application's handlers serve, as a client would send them. */
@FunctionalInterface
interface HandlerPaths {

  List<String> patterns();
}
