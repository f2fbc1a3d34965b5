package org.q2q.server.internal.grpc;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Ends the open calls of the services it intercepts with UNAVAILABLE "the server is shutting down"
 * when it is closed. For library services whose streams nobody else ends (the health service's
 * Watch, the reflection stream): an open one would otherwise hold the server's shutdown for its
 * whole grace period.
 *
 * <p>Thread-safety: safe for concurrent use. A call's writes (headers, messages, close) are
 * serialized on the call wrapper, since {@link #close()} ends calls from another thread than the
 * service writes them on; whatever the service writes after that is dropped.
 */
public final class StreamsEndedOnClose implements ServerInterceptor, AutoCloseable {
  private static final Status BYE = Status.UNAVAILABLE.withDescription("the server is shutting down");

  private final Set<EndableCall<?, ?>> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    EndableCall<Q, R> c = new EndableCall<>(call);
    open.add(c);
    if (closed) { // raced with close()
      open.remove(c);
      c.end();
    }
    return new SimpleForwardingServerCallListener<>(next.startCall(c, headers)) {
      @Override
      public void onComplete() {
        open.remove(c);
        super.onComplete();
      }

      @Override
      public void onCancel() {
        open.remove(c);
        super.onCancel();
      }
    };
  }

  /** Ends every open call, and every call that starts from now on. Idempotent. */
  @Override
  public void close() {
    closed = true;
    for (EndableCall<?, ?> c : open) {
      c.end();
    }
    open.clear();
  }

  /** Open calls now (tests). */
  int openCalls() {
    return open.size();
  }

  private static final class EndableCall<Q, R> extends SimpleForwardingServerCall<Q, R> {
    /** Guarded by this. */
    private boolean ended;

    EndableCall(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!ended) {
        super.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(R message) {
      if (!ended) {
        super.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!ended) {
        ended = true;
        super.close(status, trailers);
      }
    }

    synchronized void end() {
      close(BYE, new Metadata());
    }
  }
}
