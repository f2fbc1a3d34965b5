/** Not API: the client's gRPC side: one channel per domain's presence server, and the CAs it trusts. */
package org.q2q.client.internal.grpc;
