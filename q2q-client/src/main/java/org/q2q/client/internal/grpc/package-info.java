/** Not API: gRPC plumbing of the q2q client. */
package org.q2q.client.internal.grpc;
