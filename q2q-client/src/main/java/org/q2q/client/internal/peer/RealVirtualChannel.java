package org.q2q.client.internal.peer;

import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import java.io.InputStream;
import java.io.OutputStream;
import org.q2q.certstore.Address;
import org.q2q.client.VirtualChannel;

/** The {@link VirtualChannel} of one {@link VirtualChildChannel}. Safe for concurrent use. */
final class RealVirtualChannel implements VirtualChannel {
  private final VirtualChildChannel child;
  private final PeerSession session;
  private ChannelInputStream in;
  private ChannelOutputStream out;

  RealVirtualChannel(VirtualChildChannel child, PeerSession session) {
    this.child = child;
    this.session = session;
  }

  @Override
  public long id() {
    return child.channelId;
  }

  @Override
  public String service() {
    return child.service;
  }

  @Override
  public Address localAddress() {
    return session.localAddress();
  }

  @Override
  public Address remoteAddress() {
    return session.remoteAddress();
  }

  @Override
  public org.q2q.client.Route route() {
    return session.route();
  }

  @Override
  public Channel channel() {
    return child;
  }

  /** The session carrying this channel. */
  PeerSession session() {
    return session;
  }

  VirtualChildChannel child() {
    return child;
  }

  @Override
  public synchronized InputStream inputStream() {
    if (in == null) {
      in = new ChannelInputStream(child);
    }
    return in;
  }

  @Override
  public synchronized OutputStream outputStream() {
    if (out == null) {
      out = new ChannelOutputStream(child);
    }
    return out;
  }

  @Override
  public Future<Void> shutdownOutput() {
    return child.shutdownOutput();
  }

  @Override
  public void close() {
    child.close();
  }

  @Override
  public void reset(String reason) {
    child.mux.resetByApplication(child, reason == null ? "" : reason);
  }

  @Override
  public Future<Void> closeFuture() {
    return child.termination();
  }

  @Override
  public String toString() {
    return child.toString();
  }
}
