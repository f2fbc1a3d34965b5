/** Not API: learning and pinning foreign domains' CAs by Identify against their servers. */
package org.q2q.server.internal.federation;
