package org.q2q.server.presence;

import com.google.protobuf.ByteString;
import org.q2q.proto.RelayRole;

/**
 * Sees every data frame the relay splices, for tests that check what crosses the server (e.g. that
 * it is only TLS ciphertext). Called on the splice's serialized context; must be quick and must not
 * throw. Not for production use.
 */
@FunctionalInterface
public interface RelayTap {
  /**
   * @param listenerId the relay's listener id
   * @param sender which side sent the bytes
   * @param data the frame's bytes, exactly as forwarded
   */
  void onData(String listenerId, RelayRole sender, ByteString data);
}
