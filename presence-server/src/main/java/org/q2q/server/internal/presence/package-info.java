/** Not API: Listen sessions, the listener registry, listener ids and the Inbound fan-out. */
package org.q2q.server.internal.presence;
