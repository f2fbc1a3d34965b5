package org.q2q.client.internal.peer;

import java.net.SocketAddress;
import java.util.Objects;
import org.q2q.certstore.Address;

/**
 * The {@code SocketAddress} of one end of a virtual channel: a q2q address, the service and the
 * channel id. Immutable.
 */
public final class VirtualChannelAddress extends SocketAddress {
  private static final long serialVersionUID = 1L;

  private final Address address;
  private final String service;
  private final long channelId;

  VirtualChannelAddress(Address address, String service, long channelId) {
    this.address = Objects.requireNonNull(address, "address");
    this.service = service;
    this.channelId = channelId;
  }

  /** The q2q address of this end. */
  public Address address() {
    return address;
  }

  /** The service the channel was opened for. */
  public String service() {
    return service;
  }

  /** The channel id within the session. */
  public long channelId() {
    return channelId;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VirtualChannelAddress v
        && v.address.equals(address) && v.service.equals(service) && v.channelId == channelId;
  }

  @Override
  public int hashCode() {
    return Objects.hash(address, service, channelId);
  }

  @Override
  public String toString() {
    return address + "/" + service + "#" + channelId;
  }
}
