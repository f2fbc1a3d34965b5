package org.q2q.client;

import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import java.io.InputStream;
import java.io.OutputStream;
import org.q2q.certstore.Address;

/**
 * One bidirectional byte stream inside a peer session, opened for one service. Many run at once
 * over one session, each with its own flow control; a slow reader on one never stalls the others.
 *
 * <p>Two ways to use it, which may be mixed as long as one side of each direction is used:
 *
 * <ul>
 *   <li><b>Netty</b>: {@link #channel()} is a child {@link Channel} (like HTTP/2 stream channels)
 *       on the session's event loop. Inbound messages are {@code ByteBuf}s the handler must
 *       release; outbound messages must be {@code ByteBuf}s (released by the channel once sent).
 *       It starts with <b>autoRead off</b>, so nothing is delivered before the application has
 *       built its pipeline: add handlers, then {@code config().setAutoRead(true)} or {@code
 *       read()}. Its writability is false while the peer has choked the channel or its outbound
 *       buffer is above the write-buffer high-water mark. The end of the peer's output arrives as
 *       {@code ChannelInputShutdownEvent}/{@code ChannelInputShutdownReadComplete} user events; a
 *       reset arrives as {@code exceptionCaught(ChannelResetException)} followed by close.
 *   <li><b>Blocking</b>: {@link #inputStream()} and {@link #outputStream()} for tools; they must
 *       not be used from the event loop.
 * </ul>
 *
 * <p>Flow control: bytes count as consumed (and free the receive budget, which may unchoke the
 * sender) once they are delivered to the child pipeline, i.e. when the application asked for them
 * with {@code read()} or autoRead. A reader that does not read keeps at most the session's
 * high-water mark plus its overrun allowance buffered for this channel.
 *
 * <p>Safe for concurrent use.
 */
public interface VirtualChannel extends AutoCloseable {
  /** The channel id within its session (odd if the session initiator opened it, even otherwise). */
  long id();

  /** The service this channel was opened for. */
  String service();

  /** This side's q2q address (from its own certificate). */
  Address localAddress();

  /** The peer's q2q address, verified by TLS. */
  Address remoteAddress();

  /** The path that carries this channel's peer session. */
  Route route();

  /** The Netty child channel; see the class comment for its contract. */
  Channel channel();

  /**
   * A blocking stream of the peer's bytes (the same instance on every call). Turns autoRead off and
   * reads on demand. {@code read} blocks until data arrives, returns -1 once the peer has ended its
   * output, and throws {@link ChannelResetException} (naming the error code) if the channel was
   * reset or its session lost. {@code close()} after the end of stream only releases buffers;
   * before it, it closes the whole channel (the peer sees CANCEL), like a socket's stream.
   */
  InputStream inputStream();

  /**
   * A blocking stream to the peer (the same instance on every call). {@code write} copies the bytes
   * and blocks while the peer has choked the channel or the session's transport cannot take more;
   * any size works (it is chunked). {@code flush} is a no-op (every write is flushed). {@code
   * close()} half-closes: it sends the end of this direction after everything written and waits
   * until that end is handed to the transport; the peer's direction stays open.
   */
  OutputStream outputStream();

  /**
   * Half-close: after the bytes already written, tells the peer this side sends no more. The
   * future completes once the end marker is handed to the transport. Later writes fail.
   */
  Future<Void> shutdownOutput();

  /**
   * Closes the channel (never the session). If both directions have already ended this is silent;
   * otherwise the peer sees a reset with {@link Q2qErrorCode#CANCEL}. Written bytes not yet sent
   * are discarded: for a graceful end call {@link #shutdownOutput()} and wait for it first.
   */
  @Override
  void close();

  /** Aborts the channel in both directions; the peer sees {@link Q2qErrorCode#CANCEL} and {@code reason}. */
  void reset(String reason);

  /**
   * Completes when the channel is closed: successfully after a graceful end or a local close or
   * reset, with a {@link ChannelResetException} when the peer reset it or the session was lost.
   */
  Future<Void> closeFuture();
}
