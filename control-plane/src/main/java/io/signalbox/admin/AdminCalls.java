package io.signalbox.admin;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.signalbox.store.NotRegisteredException;
import io.signalbox.store.StoreUnavailableException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How an admin call answers: its result, or a status naming the field at fault; what nobody foresaw
 * is INTERNAL, logged here and not echoed to the caller.
 */
final class AdminCalls {

  /** The admin service's own logger: its failures are logged where its other lines are. */
  private static final Logger log = LoggerFactory.getLogger(AdminService.class);

  private AdminCalls() {}

  static String required(String value, String field) {
    if (value.isEmpty()) {
      throw invalid(field + ": required");
    }
    return value;
  }

  static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  static StatusRuntimeException notFound(String message) {
    return Status.NOT_FOUND.withDescription(message).asRuntimeException();
  }

  /**
   * Runs a handler, turning its errors into statuses; anything unexpected is INTERNAL and logged.
   */
  static <T> void answer(StreamObserver<T> response, Supplier<T> handler) {
    T result;
    try {
      result = handler.get();
    } catch (StatusRuntimeException e) {
      response.onError(e);
      return;
    } catch (NotRegisteredException e) {
      response.onError(Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (StoreUnavailableException e) {
      response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (RuntimeException e) {
      log.error("Admin request failed", e);
      response.onError(
          Status.INTERNAL
              .withDescription("admin request failed; see the control plane's log")
              .asRuntimeException());
      return;
    }
    response.onNext(result);
    response.onCompleted();
  }
}
