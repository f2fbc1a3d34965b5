/** Not API: the peer-session cache, one session per (local, remote) pair, shared by concurrent connects. */
package org.q2q.client.internal.cache;
