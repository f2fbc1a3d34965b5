package org.q2q.client.internal.peer;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.security.cert.CertificateException;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.client.PeerSessionException;
import org.q2q.client.Q2qErrorCode;
import org.q2q.proto.Hello;
import org.q2q.proto.PeerFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Establishes a peer session on a transport: waits for the TLS handshake; the initiator sends
 * Hello with the listener id, the acceptor checks it (a direct transport learns only there which
 * Inbound it answers) and answers with its own Hello or a refusal; then it replaces itself with the
 * {@link Multiplexer} and completes the start promise. Every failure (peer certificate rejected by
 * either side, timeout, transport closed, bad first frame) fails the promise with a {@link
 * PeerSessionException} saying which, and closes the transport.
 *
 * <p>Not thread-safe; event-loop only.
 */
final class SessionHandshake extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(SessionHandshake.class);

  private final PeerSessionConfig cfg;
  private final PeerTls tls;
  private final Promise<PeerSession> promise;
  private final String logId;
  private ScheduledFuture<?> timeout;
  private Address peer;
  /** The first transport error seen, to explain a later close. */
  private Throwable firstError;

  SessionHandshake(PeerSessionConfig cfg, PeerTls tls, Promise<PeerSession> promise, String logId) {
    this.cfg = cfg;
    this.tls = tls;
    this.promise = promise;
    this.logId = logId;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    long ms = cfg.handshakeTimeout().toMillis();
    timeout = ctx.executor().schedule(
        () -> fail(ctx, new PeerSessionException(Q2qErrorCode.SESSION_LOST,
            "peer session with " + describePeer() + " not established within " + ms + " ms (TLS handshake and Hello)")),
        ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent e) {
      if (!e.isSuccess()) {
        fail(ctx, tlsFailure(e.cause()));
        return;
      }
      peer = tls.verifiedPeer();
      if (peer == null) {
        fail(ctx, new PeerSessionException(Q2qErrorCode.WRONG_PEER, "TLS finished without a verified peer certificate"));
        return;
      }
      log.debug("{} TLS established with {}", logId, peer);
      if (cfg.role() == PeerRole.INITIATOR) {
        // The acceptor answers only once it has checked the listener id in this Hello.
        ctx.writeAndFlush(Frames.hello(cfg.listenerId()), ctx.voidPromise());
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof PeerFrame frame)) {
      ReferenceCountUtil.release(msg instanceof InboundData d ? d.payload() : msg);
      if (!promise.isDone()) {
        protocolFailure(ctx, "expected Hello as the peer's first frame, got DATA");
      }
      return;
    }
    if (promise.isDone()) {
      return;
    }
    if (peer != null && frame.hasReset() && frame.getReset().getChannelId() == Frames.SESSION) {
      // The acceptor refused the session (e.g. a listener id it does not serve): its reason, not ours.
      cancelTimeout();
      if (promise.tryFailure(new PeerSessionException(Frames.code(frame.getReset()),
          describePeer() + " refused the session: " + frame.getReset().getReason()))) {
        log.info("{} peer refused the session: {}", logId, frame.getReset().getReason());
      }
      ctx.close();
      return;
    }
    if (peer == null || !frame.hasHello()) {
      protocolFailure(ctx, "expected Hello as the peer's first frame, got " + frame.getKindCase());
      return;
    }
    Hello hello = frame.getHello();
    if (hello.getVersion() != Frames.VERSION) {
      protocolFailure(ctx, "the peer speaks peer protocol version " + hello.getVersion() + ", this side " + Frames.VERSION);
      return;
    }
    String listenerId = cfg.role() == PeerRole.INITIATOR ? cfg.listenerId() : hello.getListenerId();
    if (cfg.role() == PeerRole.ACCEPTOR && cfg.listenerIdCheck() != null) {
      String refused = cfg.listenerIdCheck().claim(listenerId, peer);
      if (refused != null) {
        refuse(ctx, refused);
        return;
      }
    }
    if (cfg.role() == PeerRole.ACCEPTOR) {
      ctx.writeAndFlush(Frames.hello(""), ctx.voidPromise());
    }
    cancelTimeout();
    PeerSession session = new PeerSession(ctx.channel(), cfg, peer, listenerId, logId);
    Multiplexer mux = new Multiplexer(session, cfg, ctx.channel());
    session.attach(mux);
    // Frames decoded from the same read now reach the multiplexer.
    ctx.pipeline().replace(this, PeerSession.MUX_HANDLER, mux);
    log.info("{} peer session established with {} via {}", logId, peer, cfg.route());
    if (!promise.trySuccess(session)) {
      session.close(); // the caller cancelled meanwhile
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    FrameException fe = cause instanceof FrameException f ? f : (cause.getCause() instanceof FrameException f2 ? f2 : null);
    if (fe != null) {
      fail(ctx, new PeerSessionException(fe.code(), "peer session with " + describePeer() + " failed: " + fe.getMessage()));
      return;
    }
    if (firstError == null) {
      firstError = cause;
    }
    // SslHandler follows a handshake error with a completion event; a later error closes.
    if (peer != null) {
      fail(ctx, tlsFailure(cause));
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!promise.isDone()) {
      String msg = "the transport closed before the peer session with " + describePeer() + " was established";
      if (firstError != null) {
        fail(ctx, tlsFailure(firstError));
      } else if (peer != null) {
        fail(ctx, new PeerSessionException(Q2qErrorCode.SESSION_LOST,
            msg + " (after TLS: the peer may have rejected this side's certificate)"));
      } else {
        fail(ctx, new PeerSessionException(Q2qErrorCode.SESSION_LOST, msg));
      }
    }
    cancelTimeout();
    ctx.fireChannelInactive();
  }

  private PeerSessionException tlsFailure(Throwable cause) {
    CertificateException rejected = tls.rejection();
    if (rejected != null) {
      return new PeerSessionException(Q2qErrorCode.WRONG_PEER,
          "TLS with " + describePeer() + " failed: this side rejected the peer's certificate: " + rejected.getMessage(),
          cause);
    }
    String detail = rootMessage(cause);
    if (rootCause(cause) instanceof java.nio.channels.ClosedChannelException) {
      return new PeerSessionException(Q2qErrorCode.SESSION_LOST,
          "the connection " + describePeer(true) + " closed during the TLS handshake (the peer may have rejected"
              + " this side's certificate)", cause);
    }
    if (detail.contains("alert")) {
      return new PeerSessionException(Q2qErrorCode.WRONG_PEER,
          "TLS with " + describePeer() + " failed: the peer rejected this side's certificate or the handshake ("
              + detail + ")", cause);
    }
    return new PeerSessionException(Q2qErrorCode.SESSION_LOST,
        "TLS with " + describePeer() + " failed: " + detail, cause);
  }

  private void protocolFailure(ChannelHandlerContext ctx, String reason) {
    ctx.writeAndFlush(Frames.reset(Frames.SESSION, Q2qErrorCode.PROTOCOL_ERROR, reason))
        .addListener(ChannelFutureListener.CLOSE);
    fail(ctx, new PeerSessionException(Q2qErrorCode.PROTOCOL_ERROR, "peer session with " + describePeer() + ": " + reason));
  }

  /** The peer's Hello named a listener id we will not serve: say why, then close. */
  private void refuse(ChannelHandlerContext ctx, String reason) {
    ctx.writeAndFlush(Frames.reset(Frames.SESSION, Q2qErrorCode.REFUSED, reason))
        .addListener(ChannelFutureListener.CLOSE);
    fail(ctx, new PeerSessionException(Q2qErrorCode.REFUSED, "refused a session from " + peer + ": " + reason));
  }

  private void fail(ChannelHandlerContext ctx, PeerSessionException e) {
    cancelTimeout();
    if (promise.tryFailure(e)) {
      log.info("{} peer session failed: {}", logId, e.getMessage());
    }
    ctx.close();
  }

  private void cancelTimeout() {
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }

  private String describePeer() {
    Address who = peer != null ? peer : cfg.expectedPeer();
    return who == null ? "an unidentified peer" : who.toString();
  }

  private String describePeer(boolean withPreposition) {
    Address who = peer != null ? peer : cfg.expectedPeer();
    return who == null ? "from an unidentified peer" : (withPreposition ? "with " : "") + who;
  }

  private static Throwable rootCause(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root;
  }

  private static String rootMessage(Throwable t) {
    Throwable root = rootCause(t);
    String m = root.getMessage();
    return m == null ? root.getClass().getSimpleName() : m;
  }
}
