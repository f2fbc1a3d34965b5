/** Bounds on what remote callers may use: client networks, token buckets, connection caps. */
package org.q2q.server.internal.limits;
