package org.q2q.client.internal.accept;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of an accepted TCP connection: reads just enough to tell a direct connection
 * from a reverse one ({@link ReversePreamble}), hands the channel on, and then removes itself so
 * the bytes it holds (the start of the TLS handshake) reach the handlers the session installs
 * behind it. Event-loop only.
 */
final class TransportPreamble extends ByteToMessageDecoder {
  private static final Logger log = LoggerFactory.getLogger(TransportPreamble.class);

  /** Where an accepted connection goes once its kind is known. */
  interface Handoff {
    /** A peer dialed us and starts TLS. */
    void direct(io.netty.channel.Channel ch);

    /** A listener dialed back for {@code listenerId}. */
    void reverse(io.netty.channel.Channel ch, String listenerId);
  }

  private final Handoff handoff;
  private boolean decided;

  TransportPreamble(Handoff handoff) {
    this.handoff = handoff;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (decided) {
      return; // held until this handler is removed, then passed on whole
    }
    ReversePreamble.Decoded d = ReversePreamble.decode(in);
    if (d instanceof ReversePreamble.Invalid i) {
      log.debug("[{}] closing an accepted connection from {}: {}", ctx.channel().id().asShortText(),
          ctx.channel().remoteAddress(), i.why());
      decided = true;
      in.skipBytes(in.readableBytes());
      ctx.close();
    } else if (d instanceof ReversePreamble.Direct) {
      handOff(ctx, () -> handoff.direct(ctx.channel()));
    } else if (d instanceof ReversePreamble.Reverse r) {
      handOff(ctx, () -> handoff.reverse(ctx.channel(), r.listenerId()));
    }
  }

  private void handOff(ChannelHandlerContext ctx, Runnable next) {
    decided = true;
    next.run();
    // The handoff installs the session's handlers behind us (at once on this loop, or in a task
    // queued on it); removing ourselves in a later task passes what we hold to them, not past them.
    ctx.executor().execute(() -> {
      if (ctx.pipeline().context(this) != null) {
        ctx.pipeline().remove(this);
      }
    });
  }
}
