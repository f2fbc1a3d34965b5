package org.q2q.server.internal.relay;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.SynchronizationContext;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.Address;
import org.q2q.proto.RelayFrame;
import org.q2q.proto.RelayRole;
import org.q2q.server.internal.Futures;
import org.q2q.server.internal.presence.Caller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Relay stream, either side. Inbound flow control is manual: the stream asks gRPC for one
 * frame at a time (the hello first, then data only once spliced and the other side is ready).
 *
 * <p>States: HELLO (waiting for the first frame) → WAITING (a connector whose listener has not
 * joined yet) → SPLICED → DONE. Every event runs on {@link #ctx}: the stream's own context until it
 * is spliced, then the splice's context shared with the other side (so the two never race).
 */
final class RelayEndpoint implements StreamObserver<RelayFrame> {
  private static final Logger log = LoggerFactory.getLogger(RelayEndpoint.class);

  enum State { HELLO, WAITING, SPLICED, DONE }

  final String streamId;
  final ServerCallStreamObserver<RelayFrame> out;
  private final CompletableFuture<Caller> caller;
  private final RelayRendezvous rendezvous;
  /** Where this stream's events run; switched once, from within the old context, when joining. */
  volatile SynchronizationContext ctx;

  // Fields below: only on ctx.
  State state = State.HELLO;
  RelayRole role = RelayRole.RELAY_ROLE_UNSPECIFIED;
  Address address;
  String listenerId = "-";
  RelaySplice splice;
  /** We closed the call (onCompleted/onError); nothing more may be written. */
  boolean outClosed;
  /** The call is over (closed by us or cancelled): its stream count was released. */
  boolean counted;
  /** This stream counts against its address's stream limit. */
  boolean limited;
  /** This stream counts as one whose caller or hello is not known yet. */
  boolean anonymous;
  /** The pending hello or join timeout, cancelled when the stream ends. */
  java.util.concurrent.ScheduledFuture<?> timer;

  RelayEndpoint(String streamId, ServerCallStreamObserver<RelayFrame> out, CompletableFuture<Caller> caller,
      RelayRendezvous rendezvous) {
    this.streamId = streamId;
    this.out = out;
    this.caller = caller;
    this.rendezvous = rendezvous;
    this.ctx = new SynchronizationContext(
        (t, e) -> log.error("{} {}: unexpected error on a relay stream", streamId, listenerId, e));
  }

  /** Runs {@code r} on this stream's current context. */
  void dispatch(Runnable r) {
    SynchronizationContext c = ctx;
    c.execute(() -> {
      if (ctx != c) { // switched to the splice's context meanwhile
        dispatch(r);
        return;
      }
      r.run();
    });
  }

  @Override
  public void onNext(RelayFrame frame) {
    dispatch(() -> frame(frame));
  }

  @Override
  public void onError(Throwable t) {
    dispatch(() -> gone(Status.fromThrowable(t)));
  }

  @Override
  public void onCompleted() {
    dispatch(this::halfClosed);
  }

  void onReady() {
    dispatch(() -> {
      if (state == State.SPLICED) {
        splice.pump();
      }
    });
  }

  void onCancel() {
    dispatch(() -> gone(Status.CANCELLED.withDescription("the client cancelled its relay stream")));
  }

  private void frame(RelayFrame frame) {
    switch (state) {
      case HELLO -> {
        if (!frame.hasHello()) {
          fail(Status.INVALID_ARGUMENT.withDescription("the first frame of a relay stream must be a hello"));
          return;
        }
        caller.whenComplete((c, e) -> dispatch(() -> {
          if (state != State.HELLO) {
            return;
          }
          if (e != null) {
            fail(Status.fromThrowable(Futures.unwrap(e)));
            return;
          }
          try {
            rendezvous.hello(this, c, frame.getHello());
          } catch (StatusRuntimeException x) {
            log.info("{} {} {}: relay refused: {}", streamId, listenerId, c.address(), x.getStatus());
            fail(x.getStatus());
          }
        }));
      }
      case WAITING -> fail(Status.INVALID_ARGUMENT.withDescription("data before the relay was spliced"));
      case SPLICED -> {
        if (!frame.hasData()) {
          splice.fail(this, Status.INVALID_ARGUMENT.withDescription("only data frames may follow the hello"));
          return;
        }
        splice.onData(this, frame);
      }
      case DONE -> { }
    }
  }

  private void halfClosed() {
    switch (state) {
      case SPLICED -> splice.onHalfClose(this);
      case WAITING -> {
        rendezvous.abandon(this);
        close(Status.OK);
      }
      case HELLO -> close(Status.OK);
      case DONE -> { }
    }
  }

  private void gone(Status why) {
    switch (state) {
      case SPLICED -> splice.onGone(this, why);
      case WAITING -> {
        rendezvous.abandon(this);
        release();
      }
      case HELLO -> release();
      case DONE -> { }
    }
    state = State.DONE;
    outClosed = true;
    release();
  }

  /** Closes the call with {@code status} (OK: onCompleted) and ends this endpoint. */
  void close(Status status) {
    state = State.DONE;
    if (!outClosed) {
      outClosed = true;
      try {
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      } catch (RuntimeException e) {
        log.debug("{} {}: closing: {}", streamId, listenerId, e.toString());
      }
    }
    release();
  }

  /** Fails this stream alone (before it is spliced). */
  void fail(Status status) {
    if (state == State.WAITING) {
      rendezvous.abandon(this);
    }
    close(status);
  }

  /** Sends {@code frame} unless the call is closed. */
  void send(RelayFrame frame) {
    if (outClosed) {
      return;
    }
    try {
      out.onNext(frame);
    } catch (RuntimeException e) { // cancelled underneath us; onCancel follows
      log.debug("{} {}: write failed: {}", streamId, listenerId, e.toString());
    }
  }

  private void release() {
    if (!counted) {
      counted = true;
      rendezvous.ended(this);
    }
  }

  @Override
  public String toString() {
    return streamId + " " + role + " " + address;
  }
}
