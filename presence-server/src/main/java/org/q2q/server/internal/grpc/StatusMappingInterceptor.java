package org.q2q.server.internal.grpc;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.q2q.certstore.AddressFormatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The catch-all: an exception escaping a service becomes a described status, never a stack trace
 * (gRPC would answer UNKNOWN "Application error processing RPC" and drop the description of a
 * thrown {@link StatusRuntimeException}).
 *
 * <ul>
 *   <li>a thrown {@link StatusRuntimeException} is answered with its own status;
 *   <li>the project's own validation exception ({@link AddressFormatException}) becomes
 *       INVALID_ARGUMENT with its message;
 *   <li>anything else becomes INTERNAL naming an incident id that is logged with the stack trace.
 * </ul>
 */
public final class StatusMappingInterceptor implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(StatusMappingInterceptor.class);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    AtomicBoolean closed = new AtomicBoolean();
    ServerCall<Q, R> tracking =
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            closed.set(true);
            super.close(status, trailers);
          }
        };
    ServerCall.Listener<Q> delegate;
    try {
      delegate = next.startCall(tracking, headers);
    } catch (RuntimeException e) {
      fail(tracking, closed, e);
      return new ServerCall.Listener<>() {};
    }
    return new SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(Q message) {
        try {
          super.onMessage(message);
        } catch (RuntimeException e) {
          fail(tracking, closed, e);
        }
      }

      @Override
      public void onHalfClose() {
        try {
          super.onHalfClose();
        } catch (RuntimeException e) {
          fail(tracking, closed, e);
        }
      }

      @Override
      public void onReady() {
        try {
          super.onReady();
        } catch (RuntimeException e) {
          fail(tracking, closed, e);
        }
      }

      @Override
      public void onCancel() {
        try {
          super.onCancel();
        } catch (RuntimeException e) {
          log.warn("{}: exception after the call was cancelled", call.getMethodDescriptor().getFullMethodName(), e);
        }
      }

      @Override
      public void onComplete() {
        try {
          super.onComplete();
        } catch (RuntimeException e) {
          log.warn("{}: exception after the call completed", call.getMethodDescriptor().getFullMethodName(), e);
        }
      }
    };
  }

  /** The status a caller sees for {@code e}. */
  public static Status toStatus(Throwable e, String method) {
    if (e instanceof StatusRuntimeException s) {
      return s.getStatus();
    }
    if (e instanceof AddressFormatException) {
      return Status.INVALID_ARGUMENT.withDescription(e.getMessage());
    }
    // any other exception (an IllegalArgumentException from a library included) may carry internal
    // details: the caller gets an incident id, the log the rest (L5)
    String incident = UUID.randomUUID().toString().substring(0, 8);
    log.error("{}: internal error, incident {}", method, incident, e);
    return Status.INTERNAL.withDescription(
        "internal error on the server (incident " + incident + " in the server's log)");
  }

  private static <Q, R> void fail(ServerCall<Q, R> call, AtomicBoolean closed, RuntimeException e) {
    Status s = toStatus(e, call.getMethodDescriptor().getFullMethodName());
    if (closed.get()) {
      log.warn("{}: exception after the call was closed", call.getMethodDescriptor().getFullMethodName(), e);
      return;
    }
    try {
      call.close(s, new Metadata());
    } catch (IllegalStateException already) {
      log.debug("call already closed: {}", already.toString());
    }
  }
}
