/**
 * Not API: addresses as the connection methods need them: this host's interface addresses, IP
 * literals without DNS, and the Happy Eyeballs order of a peer's candidates.
 */
package org.q2q.client.internal.net;
