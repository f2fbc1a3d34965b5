/** Not API: the relay rendezvous and the flow-controlled splice of two Relay streams. */
package org.q2q.server.internal.relay;
