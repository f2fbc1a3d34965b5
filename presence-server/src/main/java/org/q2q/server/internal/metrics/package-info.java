/** The server's metrics ({@link org.q2q.server.internal.metrics.ServerMetrics}) and their HTTP endpoint. */
package org.q2q.server.internal.metrics;
