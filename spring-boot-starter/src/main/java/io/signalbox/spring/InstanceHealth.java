package io.signalbox.spring;

/** Whether the application can serve requests now; reported as the instance's serving status. */
@FunctionalInterface
interface InstanceHealth {

  boolean isServing();
}
