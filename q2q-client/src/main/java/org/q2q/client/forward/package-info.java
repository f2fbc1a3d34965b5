/**
 * Port forwarding over virtual channels, like {@code ssh -L/-R} and frp, end-to-end encrypted:
 *
 * <ul>
 *   <li>{@link org.q2q.client.forward.Exposer}: offers a TCP service (host:port) as {@code ADDRESS/SERVICE}
 *       to the addresses of an {@link org.q2q.client.forward.AllowList};
 *   <li>{@link org.q2q.client.forward.Forwarder}: a local listening port whose every connection becomes
 *       its own virtual channel to an exposed service, over one shared peer session;
 *   <li>{@link org.q2q.client.forward.Gateway} and {@link org.q2q.client.forward.ReverseForwarder}: the
 *       reverse direction; a caller asks a gateway to listen on one of its ports and carry each
 *       connection back (protocol in {@code q2q/v1/forward.proto}).
 * </ul>
 *
 * Bytes are spliced between Netty channels on one event loop ({@link org.q2q.client.forward.Splice}),
 * never with a thread per connection. Used by {@code q2q expose}, {@code q2q forward} and {@code q2q gateway}.
 */
package org.q2q.client.forward;
