package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.certstore.ServiceName;
import org.q2q.client.ChannelResetException;
import org.q2q.client.PeerSessionException;
import org.q2q.client.Q2qErrorCode;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.ChannelData;
import org.q2q.proto.ChannelOpen;
import org.q2q.proto.ChannelReset;
import org.q2q.proto.PeerFrame;
import org.q2q.proto.SourceAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The channel multiplexer of an established peer session: the last handler of the transport's
 * pipeline, receiving {@link PeerFrame}s and writing frames for every {@link VirtualChildChannel}.
 *
 * <ul>
 *   <li><b>Ids</b>: the initiator opens odd ids, the acceptor even ones, each side increasing and
 *       never reused. An open with the wrong parity or an already-used id, or a frame for an id
 *       never opened, is answered with a reset {@code PROTOCOL_ERROR} for that id; frames for a
 *       recently closed channel are dropped silently (they crossed our reset).
 *   <li><b>Sending</b>: channels with flushed bytes queue in a {@link WriteScheduler}; while the
 *       transport is writable, each takes a turn of one chunk. Control frames bypass the queue.
 *       What channels write is flushed once per event-loop turn, so many small writes share one
 *       TLS record and one system call.
 *   <li><b>Unacknowledged bytes</b>: the session also keeps what it sent but the peer has not yet
 *       processed within the peer's announced budget ({@link SendWindow}, acknowledged by
 *       Ping/Pong), so after a choke at most that much more arrives and a peer exceeding it is
 *       reset with {@code FLOW_CONTROL_ERROR}.
 *   <li><b>Receiving</b>: data goes to the channel, whose {@link ReceiveBudget} decides choke,
 *       unchoke and {@code FLOW_CONTROL_ERROR}, so a choked channel never stalls the others. The
 *       session as a whole holds at most {@link PeerSessionConfig#sessionReceiveBudget()} of memory
 *       in undelivered chunks: past it the transport is not read until half of it was delivered.
 *   <li><b>Bounds on what a peer may make us do</b>: at most {@link
 *       PeerSessionConfig#maxRemoteChannels()} channels it opened at once (further opens get
 *       REFUSED); a service name must pass {@link ServiceName} and is never echoed; replies to its
 *       frames do not pile up while it does not read: pongs coalesce to the latest one, resets for
 *       ids never opened are rate-limited ({@value #UNKNOWN_ID_RESETS_PER_SECOND}/s) and dropped,
 *       and after {@value #MAX_REPLIES_WHILE_BLOCKED} other replies the transport is not read until
 *       it is writable again. Each kind of misbehaviour is logged at WARN once per session.
 *   <li><b>Session errors</b>: a malformed or oversize frame, a second Hello, or a dead peer
 *       (heartbeat) end the whole session. This side then sends a reset on channel 0 (the session)
 *       saying why, closes the transport and fails every channel with {@code SESSION_LOST},
 *       except those that had already received the peer's end: they deliver what they received,
 *       and only their output fails if their own end was not written yet.
 * </ul>
 *
 * <p>Not thread-safe: everything runs on the transport's event loop; public entry points hop onto
 * it.
 */
final class Multiplexer extends ChannelDuplexHandler {
  private static final Logger log = LoggerFactory.getLogger(Multiplexer.class);
  /** Chunks written between flushes inside one scheduling round, so writability stays current. */
  private static final int CHUNKS_PER_FLUSH = 16;
  private static final long MAX_CHANNEL_ID = 0xFFFF_FFFFL;
  /** Resets answering frames for ids never opened, per second; more are dropped. */
  static final int UNKNOWN_ID_RESETS_PER_SECOND = 64;
  /** Replies written while the transport is not writable before this side stops reading. */
  static final int MAX_REPLIES_WHILE_BLOCKED = 64;

  private final PeerSession session;
  private final PeerSessionConfig cfg;
  private final Clock clock;
  private final Channel parent;
  private final LongObjectHashMap<VirtualChildChannel> channels = new LongObjectHashMap<>();
  private final WriteScheduler scheduler = new WriteScheduler();
  private ChannelHandlerContext ctx;
  /** Next id this side opens. */
  private long nextLocalId;
  /** Highest id the peer opened so far (0: none). */
  private long highestRemoteId;
  private boolean inWriteLoop;
  /** A {@link #writeTask} is queued on the event loop and has not run yet. */
  private boolean writeRequested;
  /** A {@link #flushTask} is queued on the event loop and has not run yet. */
  private boolean flushRequested;
  private final Runnable flushTask = () -> {
    flushRequested = false;
    ctx.flush();
  };
  private final Runnable writeTask = () -> {
    writeRequested = false;
    writeLoop(false);
  };
  private boolean closed;
  /** Clock millis of the last frame received. */
  private long lastReceivedMillis;
  /** Clock millis since when no channel has been open (checked against the unused timeout). */
  private long unusedSinceMillis;
  private final SendWindow window = new SendWindow();
  private ScheduledFuture<?> heartbeat;
  /** Channels the peer opened that are still open (bounded by maxRemoteChannels). */
  private int remoteOpenCount;
  /** Memory cost of received chunks not yet delivered, over all channels. */
  private long bufferedBytes;
  /** Reading paused: the channels hold more than the session receive budget. */
  private boolean pausedForBudget;
  /** Reading paused: the peer does not read our replies. */
  private boolean pausedForReplies;
  /** Replies written since the transport last became unwritable. */
  private int repliesWhileBlocked;
  /** Replies written during this read and not yet flushed (flushed once per read, in one record). */
  private boolean replyFlushDue;
  /** A pong owed to the peer, written once the transport is writable (only the latest counts). */
  private boolean pongPending;
  private long pendingPongNonce;
  /** Rate limit of resets for unknown ids: the current one-second window and its count. */
  private long unknownIdWindowMillis;
  private int unknownIdResets;
  /** Misbehaviours already logged at WARN in this session (each once). */
  private final java.util.EnumSet<Misbehaviour> warned = java.util.EnumSet.noneOf(Misbehaviour.class);

  /** Peer behaviour logged at WARN once per session, then at DEBUG. */
  private enum Misbehaviour {
    UNKNOWN_ID,
    BAD_OPEN,
    TOO_MANY_CHANNELS,
    CHANNEL_VIOLATION,
    NOT_READING
  }

  Multiplexer(PeerSession session, PeerSessionConfig cfg, Channel parent) {
    this.session = session;
    this.cfg = cfg;
    this.clock = cfg.clock();
    this.parent = parent;
    this.nextLocalId = cfg.role().firstChannelId();
  }

  PeerSession session() {
    return session;
  }

  Channel parentChannel() {
    return parent;
  }

  Address localAddress() {
    return session.localAddress();
  }

  Address remoteAddress() {
    return session.remoteAddress();
  }

  String logId() {
    return session.logId();
  }

  // ---- pipeline events ----

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    lastReceivedMillis = clock.millis();
    unusedSinceMillis = lastReceivedMillis;
    long period = cfg.heartbeatInterval().toMillis();
    heartbeat = ctx.executor().scheduleAtFixedRate(this::heartbeatTick, period, period, TimeUnit.MILLISECONDS);
    if (!ctx.channel().isActive()) {
      sessionEnded("the transport closed during the handshake", null);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    lastReceivedMillis = clock.millis();
    if (msg instanceof InboundData data) {
      onData(data.channelId(), data.payload());
      return;
    }
    if (!(msg instanceof PeerFrame frame)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (closed) {
      return;
    }
    switch (frame.getKindCase()) {
      case OPEN -> onOpen(frame.getOpen());
      case ACCEPT -> onAccept(Frames.id(frame.getAccept().getChannelId()), frame.getAccept().getReceiveBudget());
      case DATA -> onData(frame.getData());
      case CHOKE -> {
        VirtualChildChannel ch = channelFor(Frames.id(frame.getChoke().getChannelId()), "choke", true);
        if (ch != null) {
          ch.onChoke();
        }
      }
      case UNCHOKE -> {
        VirtualChildChannel ch = channelFor(Frames.id(frame.getUnchoke().getChannelId()), "unchoke", true);
        if (ch != null) {
          ch.onUnchoke();
          requestWrite();
        }
      }
      case END -> {
        VirtualChildChannel ch = channelFor(Frames.id(frame.getEnd().getChannelId()), "end", true);
        if (ch != null) {
          ch.onEnd();
        }
      }
      case RESET -> onReset(frame.getReset());
      case PING -> onPing(frame.getPing().getNonce());
      case PONG -> onPong(frame.getPong().getNonce());
      case SOURCE_ADDRESS -> onSourceAddress(frame.getSourceAddress());
      case HELLO -> sessionError(Q2qErrorCode.PROTOCOL_ERROR, "a second Hello in an established session");
      case KIND_NOT_SET -> log.debug("{} ignored a frame of a kind this version does not know", logId());
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    flushReplies();
    ctx.fireChannelReadComplete();
  }

  private void flushReplies() {
    if (replyFlushDue) {
      replyFlushDue = false;
      ctx.flush();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      repliesWhileBlocked = 0;
      if (pongPending && !closed) {
        pongPending = false;
        ctx.writeAndFlush(Frames.pong(pendingPongNonce), ctx.voidPromise());
      }
      if (pausedForReplies) {
        pausedForReplies = false;
        updateReading();
      }
      requestWrite();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    sessionEnded("the transport closed", null);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    FrameException fe = findFrameException(cause);
    if (fe != null) {
      sessionError(fe.code(), fe.getMessage());
      return;
    }
    if (!closed) {
      log.warn("{} transport failed: {}", logId(), String.valueOf(cause));
    }
    sessionEnded("the transport failed: " + cause.getMessage(), cause);
    ctx.close();
  }

  private static FrameException findFrameException(Throwable t) {
    for (int i = 0; t != null && i < 5; i++, t = t.getCause()) {
      if (t instanceof FrameException fe) {
        return fe;
      }
    }
    return null;
  }

  // ---- opening ----

  /** Opens a channel to {@code service}; see {@link PeerSession#openChannel(String, ChannelHandler)}. */
  Future<VirtualChannel> openChannel(String service, ChannelHandler handler) {
    Promise<VirtualChannel> promise = parent.eventLoop().newPromise();
    if (parent.eventLoop().inEventLoop()) {
      open0(service, handler, promise);
    } else {
      parent.eventLoop().execute(() -> open0(service, handler, promise));
    }
    return promise;
  }

  private void open0(String service, ChannelHandler handler, Promise<VirtualChannel> promise) {
    if (closed) {
      promise.tryFailure(new PeerSessionException(Q2qErrorCode.SESSION_LOST, logId() + " session is closed"));
      return;
    }
    long id = nextLocalId;
    if (id > MAX_CHANNEL_ID) {
      promise.tryFailure(new PeerSessionException(Q2qErrorCode.INTERNAL_ERROR, logId() + " channel ids exhausted"));
      return;
    }
    nextLocalId += 2;
    VirtualChildChannel ch = new VirtualChildChannel(this, id, service, true, cfg);
    if (handler != null) {
      ch.pipeline().addLast(handler);
    }
    ch.openPromise = promise;
    if (!register(ch)) {
      promise.tryFailure(new PeerSessionException(Q2qErrorCode.INTERNAL_ERROR, logId() + " could not register channel"));
      return;
    }
    channels.put(id, ch);
    log.debug("{} opening channel {} to service '{}'", logId(), id, service);
    ctx.writeAndFlush(Frames.open(id, service, cfg.overrunAllowance()), ctx.voidPromise());
  }

  private boolean register(VirtualChildChannel ch) {
    return parent.eventLoop().register(ch).isSuccess(); // synchronous: we are on the loop
  }

  private void onOpen(ChannelOpen open) {
    long id = Frames.id(open.getChannelId());
    String service = open.getService();
    if (id == 0 || cfg.role().opens(id)) {
      channelProtocolError(id, "open of channel " + id + " has the wrong parity: the peer opens "
          + (cfg.role() == PeerRole.INITIATOR ? "even" : "odd") + " ids");
      return;
    }
    if (id <= highestRemoteId) {
      channelProtocolError(id, "open of channel " + id + " reuses an id (highest so far " + highestRemoteId + ")");
      return;
    }
    highestRemoteId = id;
    notePeerBudget(open.getReceiveBudget());
    if (!ServiceName.isValid(service)) {
      // Never echoed or logged: it may be a megabyte of anything.
      misbehaved(Misbehaviour.BAD_OPEN, "open of channel " + id + " names an invalid service ("
          + service.length() + " characters)");
      reply(Frames.reset(id, Q2qErrorCode.PROTOCOL_ERROR, "open of channel " + id + " names an invalid service"));
      return;
    }
    if (remoteOpenCount >= cfg.maxRemoteChannels()) {
      misbehaved(Misbehaviour.TOO_MANY_CHANNELS, "peer has " + remoteOpenCount
          + " channels open, the limit; refusing channel " + id + " and any further ones");
      reply(Frames.reset(id, Q2qErrorCode.REFUSED, "too many channels"));
      return;
    }
    VirtualChildChannel ch = new VirtualChildChannel(this, id, service, false, cfg);
    if (!register(ch)) {
      reply(Frames.reset(id, Q2qErrorCode.INTERNAL_ERROR, "could not register the channel"));
      return;
    }
    channels.put(id, ch);
    remoteOpenCount++;
    boolean accepted;
    try {
      accepted = cfg.acceptor().accept(ch.handle());
    } catch (Exception e) {
      log.info("{} listener refused channel {} for service '{}': {}", logId(), id, service, e.toString());
      refuse(ch, Q2qErrorCode.REFUSED, "refused");
      return;
    }
    if (!ch.isOpen()) {
      return; // the acceptor closed or reset it already
    }
    if (!accepted) {
      log.debug("{} no service '{}' for channel {}", logId(), service, id);
      refuse(ch, Q2qErrorCode.NO_SUCH_SERVICE, "no such service"); // the opener words it (onReset)
      return;
    }
    ctx.writeAndFlush(Frames.accept(id, cfg.overrunAllowance()), ctx.voidPromise());
    log.debug("{} accepted channel {} for service '{}'", logId(), id, service);
    ch.activate();
  }

  private void refuse(VirtualChildChannel ch, Q2qErrorCode code, String reason) {
    reply(Frames.reset(ch.channelId, code, reason));
    ch.resetExchanged = true;
    ch.unsafe().close(ch.voidPromise());
  }

  private void onAccept(long id, int budget) {
    VirtualChildChannel ch = channelFor(id, "accept", true);
    if (ch == null) {
      return;
    }
    if (!ch.locallyOpened || ch.isActive()) {
      resetChannel(ch, Q2qErrorCode.PROTOCOL_ERROR, "unexpected accept for channel " + id);
      return;
    }
    notePeerBudget(budget);
    ch.activate();
    if (ch.openPromise != null && !ch.openPromise.trySuccess(ch.handle())) {
      ch.close(); // the opener gave up (cancelled) meanwhile
    }
  }

  // ---- data and control ----

  private void onData(ChannelData data) {
    int n = data.getPayload().size();
    ByteBuf buf = ctx.alloc().buffer(n);
    buf.writeBytes(data.getPayload().asReadOnlyByteBuffer());
    onData(Frames.id(data.getChannelId()), buf);
  }

  /** @param payload released by this method (or passed on to the channel, which releases it) */
  private void onData(long id, ByteBuf payload) {
    if (closed || !payload.isReadable()) {
      payload.release();
      return;
    }
    VirtualChildChannel ch = channelFor(id, "data", true);
    if (ch == null) {
      payload.release();
      return;
    }
    if (!ch.isActive()) {
      payload.release();
      resetChannel(ch, Q2qErrorCode.PROTOCOL_ERROR, "data on channel " + id + " before it was accepted");
      return;
    }
    ch.onData(payload);
  }

  private void onReset(ChannelReset reset) {
    long id = Frames.id(reset.getChannelId());
    Q2qErrorCode code = Frames.code(reset);
    if (id == Frames.SESSION) {
      String why = code == Q2qErrorCode.NO_ERROR
          ? "the peer closed the session"
          : "the peer ended the session: " + code + (reset.getReason().isEmpty() ? "" : ": " + reset.getReason());
      log.info("{} {}", logId(), why);
      sessionEnded(why, null);
      ctx.close();
      return;
    }
    VirtualChildChannel ch = channelFor(id, "reset", false);
    if (ch != null) {
      String reason = reset.getReason();
      if (code == Q2qErrorCode.NO_SUCH_SERVICE && ch.locallyOpened && !ch.isActive()) {
        // Said in our own words: the peer's text is not shown, and we know what we asked for.
        reason = "no service '" + ch.service + "' at " + remoteAddress();
      }
      log.debug("{} channel {} reset by peer: {} {}", logId(), id, code, reason);
      ch.fail(new ChannelResetException(code, id, true, reason));
    }
  }

  private void notePeerBudget(int budget) {
    window.notePeerBudget(Integer.toUnsignedLong(budget));
  }

  /** Answers a ping; while the transport is not writable only the latest is kept. */
  private void onPing(long nonce) {
    if (parent.isWritable()) {
      ctx.write(Frames.pong(nonce), ctx.voidPromise());
      replyFlushDue = true;
    } else {
      pongPending = true;
      pendingPongNonce = nonce;
    }
  }

  /** The peer processed every data byte up to {@code nonce}: the send window may move. */
  private void onPong(long nonce) {
    if (window.onPong(nonce)) {
      requestWrite();
    }
  }

  /** Writes (without flushing) a ping whose nonce acknowledges everything sent so far. */
  private void ping() {
    ctx.write(Frames.ping(window.pingWritten()), ctx.voidPromise());
  }

  private void onSourceAddress(SourceAddress sa) {
    session.noteSourceAddress(sa.getAddress());
  }

  /**
   * The open channel {@code id}, or null: a frame for a channel closed recently is dropped, one for
   * an id never opened is answered with PROTOCOL_ERROR (unless it is itself a reset).
   */
  private VirtualChildChannel channelFor(long id, String kind, boolean answerUnknown) {
    VirtualChildChannel ch = channels.get(id);
    if (ch != null) {
      return ch;
    }
    boolean used = id != 0 && (cfg.role().opens(id) ? id < nextLocalId : id <= highestRemoteId);
    if (used) {
      log.debug("{} dropped {} for closed channel {}", logId(), kind, id);
    } else if (answerUnknown) {
      misbehaved(Misbehaviour.UNKNOWN_ID, "peer sent " + kind + " for unknown channel " + id);
      if (unknownIdResetAllowed()) {
        reply(Frames.reset(id, Q2qErrorCode.PROTOCOL_ERROR, kind + " for unknown channel " + id));
      }
    }
    return null;
  }

  /**
   * True if a reset for an unknown id may be sent now: at most {@value
   * #UNKNOWN_ID_RESETS_PER_SECOND} per second, and none while the transport is not writable (the
   * peer broke the protocol; it is owed nothing that would pile up).
   */
  private boolean unknownIdResetAllowed() {
    if (!parent.isWritable()) {
      return false;
    }
    long now = clock.millis();
    if (now - unknownIdWindowMillis >= 1000 || now < unknownIdWindowMillis) {
      unknownIdWindowMillis = now;
      unknownIdResets = 0;
    }
    return ++unknownIdResets <= UNKNOWN_ID_RESETS_PER_SECOND;
  }

  /** Logs the peer's misbehaviour: WARN the first time of each kind in this session, then DEBUG. */
  private void misbehaved(Misbehaviour kind, String what) {
    if (warned.add(kind)) {
      log.warn("{} {} (further ones in this session are logged at debug)", logId(), what);
    } else {
      log.debug("{} {}", logId(), what);
    }
  }

  /**
   * Writes a reply the peer's frames asked for (a refusal or protocol-error reset). While the
   * transport is not writable the peer is not reading: after {@value #MAX_REPLIES_WHILE_BLOCKED}
   * such replies this side stops reading until it is writable again.
   */
  private void reply(PeerFrame frame) {
    if (closed) {
      return;
    }
    ctx.write(frame, ctx.voidPromise());
    replyFlushDue = true;
    if (!parent.isWritable() && ++repliesWhileBlocked >= MAX_REPLIES_WHILE_BLOCKED && !pausedForReplies) {
      misbehaved(Misbehaviour.NOT_READING, "peer is not reading our replies: pausing reading until it does");
      pausedForReplies = true;
      updateReading();
    }
  }

  /** Received chunks now cost {@code delta} more (or less) memory; pauses or resumes reading. */
  void buffered(long delta) {
    bufferedBytes += delta;
    long budget = cfg.sessionReceiveBudget();
    if (!pausedForBudget && bufferedBytes > budget) {
      log.debug("{} channels hold {} bytes undelivered, over the session budget {}: pausing reading",
          logId(), bufferedBytes, budget);
      pausedForBudget = true;
      updateReading();
    } else if (pausedForBudget && bufferedBytes <= budget / 2) {
      log.debug("{} channels hold {} bytes undelivered: reading again", logId(), bufferedBytes);
      pausedForBudget = false;
      lastReceivedMillis = clock.millis(); // the pause was ours, not the peer's silence
      updateReading();
    }
  }

  /** Turns reading the transport off while either pause holds. */
  private void updateReading() {
    boolean read = !pausedForBudget && !pausedForReplies;
    if (parent.config().isAutoRead() != read) {
      parent.config().setAutoRead(read);
    }
  }

  /** Memory held by undelivered chunks of all channels (event loop). */
  long bufferedBytes() {
    return bufferedBytes;
  }

  /** True while the transport is not read because of one of the bounds (event loop). */
  boolean readingPaused() {
    return pausedForBudget || pausedForReplies;
  }

  /** A protocol error about channel {@code id}: resets that channel, live or not. */
  private void channelProtocolError(long id, String reason) {
    misbehaved(Misbehaviour.BAD_OPEN, reason);
    VirtualChildChannel live = channels.get(id);
    if (live != null) {
      resetChannel(live, Q2qErrorCode.PROTOCOL_ERROR, reason);
    } else {
      reply(Frames.reset(id, Q2qErrorCode.PROTOCOL_ERROR, reason));
    }
  }

  /** This side resets {@code ch} because of {@code code}: tells the peer and fails the channel. */
  void resetChannel(VirtualChildChannel ch, Q2qErrorCode code, String reason) {
    if (!ch.isOpen()) {
      return;
    }
    if (code == Q2qErrorCode.PROTOCOL_ERROR || code == Q2qErrorCode.FLOW_CONTROL_ERROR) {
      misbehaved(Misbehaviour.CHANNEL_VIOLATION, "resetting channel " + ch.channelId + ": " + code + ": " + reason);
    } else {
      log.warn("{} resetting channel {}: {}: {}", logId(), ch.channelId, code, reason);
    }
    sendReset(ch.channelId, code, reason);
    ch.fail(new ChannelResetException(code, ch.channelId, false, reason));
  }

  /** The application resets {@code ch} (CANCEL); its closeFuture succeeds. */
  void resetByApplication(VirtualChildChannel ch, String reason) {
    if (!parent.eventLoop().inEventLoop()) {
      parent.eventLoop().execute(() -> resetByApplication(ch, reason));
      return;
    }
    if (!ch.isOpen()) {
      return;
    }
    sendReset(ch.channelId, Q2qErrorCode.CANCEL, reason);
    ch.resetExchanged = true;
    ch.unsafe().close(ch.voidPromise());
  }

  void sendChoke(VirtualChildChannel ch) {
    log.debug("{} choking channel {} ({} unconsumed bytes)", logId(), ch.channelId, ch.unconsumedBytes());
    control(Frames.choke(ch.channelId));
  }

  void sendUnchoke(VirtualChildChannel ch) {
    log.debug("{} unchoking channel {}", logId(), ch.channelId);
    control(Frames.unchoke(ch.channelId));
  }

  private void sendReset(long id, Q2qErrorCode code, String reason) {
    control(Frames.reset(id, code, reason));
  }

  private void control(PeerFrame frame) {
    if (!closed) {
      ctx.writeAndFlush(frame, ctx.voidPromise());
    }
  }

  /** Called from the child's doClose: forget it, and reset it unless it ended gracefully. */
  void childClosed(VirtualChildChannel ch) {
    if (channels.remove(ch.channelId) != null && !ch.locallyOpened) {
      remoteOpenCount--;
    }
    if (channels.isEmpty()) {
      unusedSinceMillis = clock.millis();
    }
    if (!ch.resetExchanged && !closed && !(ch.endSent() && ch.remoteEnded())) {
      ch.resetExchanged = true;
      sendReset(ch.channelId, Q2qErrorCode.CANCEL, "closed by the application");
    }
  }

  /** Closes {@code ch} quietly once both directions have ended (or its output was lost with the session). */
  void maybeFinished(VirtualChildChannel ch) {
    if (ch.isOpen() && (ch.endSent() || ch.outputLost()) && ch.inputShutdownDelivered()) {
      log.debug("{} channel {} finished", logId(), ch.channelId);
      ch.unsafe().close(ch.voidPromise());
    }
  }

  // ---- sending ----

  /**
   * {@code ch} has bytes or an end to send: give it a turn. The frames are written inline, so what
   * a channel hands over goes out before anything it does next (a close); their flush is deferred
   * ({@link #requestFlush}).
   */
  void schedule(VirtualChildChannel ch) {
    if (ch.isOpen() && (ch.hasPendingData() || ch.endDue())) {
      scheduler.add(ch);
      writeLoop(true);
    }
  }

  /** Writes and flushes now what the channels have handed over (a channel or the session is about to close). */
  void writeBeforeClose() {
    writeLoop(false);
    if (flushRequested) {
      ctx.flush(); // the queued flush would run after the close
    }
  }

  /**
   * Flushes the transport in an event-loop task, once for any number of requests before it runs.
   * The task runs after the I/O of this loop turn, so the frames of every channel that wrote in
   * the turn leave in one TLS record and one write: many forwarded connections, each handing over
   * a small request or response, cost one system call instead of one each (a third less CPU per
   * request through a tunnel, measured with bench/forward-bench.sh). Netty's
   * FlushConsolidationHandler would also defer the flushes inside a long write loop, which keep
   * the socket draining while the loop runs.
   */
  private void requestFlush() {
    if (!flushRequested) {
      flushRequested = true;
      ctx.executor().execute(flushTask);
    }
  }

  /**
   * Runs the write loop as its own event-loop task, once for any number of requests before it
   * runs: for the transport's signals (writable again, a pong, an unchoke). Why not inline there:
   * those come from deep inside Netty's own calls, and calling the loop there made the JIT compile
   * the whole outbound path (encoder, TLS, socket flush) into each of them: about a second of
   * compiler CPU in every short-lived sender. A channel's own writes still run the loop inline
   * ({@link #schedule}), so its data always leaves before its close or the session's.
   */
  private void requestWrite() {
    if (!writeRequested && !closed) {
      writeRequested = true;
      ctx.executor().execute(writeTask);
    }
  }

  /**
   * Round-robin: one chunk per ready channel per turn while the transport is writable.
   *
   * @param deferFlush flush the last frames with {@link #requestFlush} instead of at once
   */
  private void writeLoop(boolean deferFlush) {
    if (inWriteLoop || closed) {
      return;
    }
    inWriteLoop = true;
    int unflushed = 0;
    try {
      long room;
      while (parent.isWritable() && (room = window.room()) > 0) {
        VirtualChildChannel ch = scheduler.poll();
        if (ch == null) {
          break;
        }
        if (!ch.isOpen()) {
          continue;
        }
        if (!ch.isChokedByPeer()) {
          ByteBuf chunk = ch.pollChunk((int) Math.min(cfg.chunkSize(), room));
          if (chunk != null) {
            boolean pingDue = window.onSent(chunk.readableBytes());
            ctx.write(new OutboundData(ch.channelId, chunk), ctx.voidPromise());
            if (pingDue) {
              ping();
            }
            if (++unflushed >= CHUNKS_PER_FLUSH) {
              ctx.flush();
              unflushed = 0;
            }
          }
          if (ch.hasPendingData()) {
            scheduler.add(ch);
            continue;
          }
        }
        if (ch.endDue()) {
          ctx.write(Frames.end(ch.channelId), ctx.voidPromise());
          unflushed++;
          ch.endWritten();
        }
      }
      if (!scheduler.isEmpty() && window.needsPingWhenFull()) {
        ping(); // the window is full: make sure the peer is asked to acknowledge all of it
        unflushed++;
      }
    } finally {
      inWriteLoop = false;
    }
    if (unflushed > 0) {
      if (deferFlush) {
        requestFlush();
      } else {
        ctx.flush();
      }
    }
  }

  // ---- liveness and the end of the session ----

  private void heartbeatTick() {
    if (closed) {
      return;
    }
    if (pausedForBudget) {
      lastReceivedMillis = clock.millis(); // not reading is our choice: the peer is not silent
    }
    long silent = clock.millis() - lastReceivedMillis;
    long idle = cfg.idleTimeout().toMillis();
    if (silent >= idle) {
      log.warn("{} no frame from the peer for {} ms (idle timeout {} ms): session lost", logId(), silent, idle);
      sessionEnded("no frame from the peer for " + silent + " ms (idle timeout " + idle + " ms)", null);
      ctx.close();
      return;
    }
    long unused = cfg.unusedTimeout().toMillis();
    long now = clock.millis();
    if (!channels.isEmpty()) {
      unusedSinceMillis = now;
    } else if (unused > 0 && now - unusedSinceMillis >= unused) {
      log.info("{} no channel for {} ms: closing the unused session", logId(), now - unusedSinceMillis);
      session.close();
      return;
    }
    ping();
    ctx.flush();
  }

  /** This side decided the peer broke the protocol: say why on channel 0, then close. */
  void sessionError(Q2qErrorCode code, String reason) {
    if (closed) {
      return;
    }
    log.warn("{} ending the session: {}: {}", logId(), code, reason);
    ctx.writeAndFlush(Frames.reset(Frames.SESSION, code, reason)).addListener(ChannelFutureListener.CLOSE);
    sessionEnded("session ended: " + code + ": " + reason, null);
  }

  /** Local close: tell the peer (NO_ERROR on channel 0), fail the channels, close the transport. */
  void close() {
    if (!parent.eventLoop().inEventLoop()) {
      parent.eventLoop().execute(this::close);
      return;
    }
    if (closed) {
      return;
    }
    writeBeforeClose(); // what the channels handed over goes first (a queued writeTask would run too late)
    ctx.writeAndFlush(Frames.reset(Frames.SESSION, Q2qErrorCode.NO_ERROR, "session closed"))
        .addListener(ChannelFutureListener.CLOSE);
    sessionEnded("the session was closed locally", null);
  }

  /** Marks the session ended and ends every open channel with SESSION_LOST (see the class comment). Idempotent. */
  private void sessionEnded(String why, Throwable cause) {
    if (closed) {
      return;
    }
    closed = true;
    if (heartbeat != null) {
      heartbeat.cancel(false);
    }
    scheduler.clear();
    List<VirtualChildChannel> open = new ArrayList<>(channels.values());
    channels.clear();
    if (!open.isEmpty()) {
      log.info("{} session ended with {} open channels: {}", logId(), open.size(), why);
    } else {
      log.debug("{} session ended: {}", logId(), why);
    }
    for (VirtualChildChannel ch : open) {
      ch.sessionEnded(new ChannelResetException(Q2qErrorCode.SESSION_LOST, ch.channelId, false, why, cause));
    }
    session.ended(why, cause);
  }

  // ---- introspection ----

  int openChannelCount() {
    return channels.size();
  }

  /** The nonce of a pong waiting for the transport to be writable, or -1 (event loop). */
  long pendingPong() {
    return pongPending ? pendingPongNonce : -1;
  }

  /** The channel {@code id} if open (event loop). */
  VirtualChildChannel channel(long id) {
    return channels.get(id);
  }

  /** Channels the peer opened that are still open. */
  int remoteOpenChannelCount() {
    return remoteOpenCount;
  }

  PeerSessionConfig config() {
    return cfg;
  }

  boolean isClosed() {
    return closed;
  }
}
