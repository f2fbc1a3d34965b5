/**
 * Several nodes serving one domain, sharing a PostgreSQL database: the directory of nodes and of
 * who listens where ({@link org.q2q.server.internal.fleet.NodeDirectory}), the node-to-node gRPC
 * link ({@link org.q2q.server.internal.fleet.NodeLinks}, {@link org.q2q.server.internal.fleet.NodeLinkService}),
 * and {@link org.q2q.server.internal.fleet.Fleet}, which presence asks about the other nodes.
 */
package org.q2q.server.internal.fleet;
