package org.q2q.client.internal.peer;

import org.q2q.client.Q2qErrorCode;
import org.q2q.proto.ChannelAccept;
import org.q2q.proto.ChannelChoke;
import org.q2q.proto.ChannelEnd;
import org.q2q.proto.ChannelOpen;
import org.q2q.proto.ChannelReset;
import org.q2q.proto.ChannelUnchoke;
import org.q2q.proto.ErrorCode;
import org.q2q.proto.Hello;
import org.q2q.proto.PeerFrame;
import org.q2q.proto.Ping;
import org.q2q.proto.Pong;

/** Builders for the control frames of the peer protocol (version {@link #VERSION}). */
final class Frames {
  /** The peer frame protocol version this code speaks. */
  static final int VERSION = 1;
  /**
   * Channel id 0 is never a channel; a reset on it is a session-level error (like HTTP/2 GOAWAY),
   * sent just before this side closes the session.
   */
  static final long SESSION = 0;

  private Frames() {}

  static PeerFrame hello(String listenerId) {
    return PeerFrame.newBuilder().setHello(Hello.newBuilder().setVersion(VERSION).setListenerId(listenerId)).build();
  }

  static PeerFrame open(long id, String service, int budget) {
    return PeerFrame.newBuilder()
        .setOpen(ChannelOpen.newBuilder().setChannelId((int) id).setService(service).setReceiveBudget(budget))
        .build();
  }

  static PeerFrame accept(long id, int budget) {
    return PeerFrame.newBuilder().setAccept(ChannelAccept.newBuilder().setChannelId((int) id).setReceiveBudget(budget)).build();
  }

  static PeerFrame choke(long id) {
    return PeerFrame.newBuilder().setChoke(ChannelChoke.newBuilder().setChannelId((int) id)).build();
  }

  static PeerFrame unchoke(long id) {
    return PeerFrame.newBuilder().setUnchoke(ChannelUnchoke.newBuilder().setChannelId((int) id)).build();
  }

  static PeerFrame end(long id) {
    return PeerFrame.newBuilder().setEnd(ChannelEnd.newBuilder().setChannelId((int) id)).build();
  }

  static PeerFrame reset(long id, Q2qErrorCode code, String reason) {
    ChannelReset.Builder r = ChannelReset.newBuilder().setChannelId((int) id).setReason(reason == null ? "" : reason);
    if (code.wireValue() >= 0) {
      r.setCodeValue(code.wireValue());
    } else {
      r.setCode(ErrorCode.INTERNAL_ERROR);
    }
    return PeerFrame.newBuilder().setReset(r).build();
  }

  static PeerFrame ping(long nonce) {
    return PeerFrame.newBuilder().setPing(Ping.newBuilder().setNonce(nonce)).build();
  }

  static PeerFrame pong(long nonce) {
    return PeerFrame.newBuilder().setPong(Pong.newBuilder().setNonce(nonce)).build();
  }

  /** A wire id as an unsigned number. */
  static long id(int wire) {
    return Integer.toUnsignedLong(wire);
  }

  static Q2qErrorCode code(ChannelReset reset) {
    return Q2qErrorCode.fromWire(reset.getCodeValue());
  }
}
