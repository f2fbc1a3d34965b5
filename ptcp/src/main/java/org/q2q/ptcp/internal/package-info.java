/**
 * Implementation pieces of the PTCP core: header codec, sequence arithmetic, RTT estimation, congestion
 * control, pacing, reassembly, send/receive buffers, timers and path-MTU discovery.
 *
 * <p><b>Not API.</b> Everything here may change without notice; use {@link org.q2q.ptcp} and
 * {@link org.q2q.ptcp.netty} instead. All classes are sans-IO: no sockets, threads or clocks.
 */
package org.q2q.ptcp.internal;
