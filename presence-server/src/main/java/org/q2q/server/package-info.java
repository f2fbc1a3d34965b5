/**
 * The q2q presence server: {@link org.q2q.server.PresenceServer} (builder, start, close), the
 * caller's identity on each call ({@link org.q2q.server.CallerIdentity}), the trusted domain CAs
 * ({@link org.q2q.server.DomainCas}) and the account database ({@link org.q2q.server.AccountStore}).
 */
package org.q2q.server;
