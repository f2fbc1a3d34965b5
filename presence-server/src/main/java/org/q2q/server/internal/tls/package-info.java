/** Not API: the presence server TLS (server identity, client-chain shape check). */
package org.q2q.server.internal.tls;
