/** Not API: gRPC plumbing of the presence server (interceptors). */
package org.q2q.server.internal.grpc;
