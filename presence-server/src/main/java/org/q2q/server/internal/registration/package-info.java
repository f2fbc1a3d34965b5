/** Not API: the Registration service (Identify, Sign, WhoAmI) and its rate limiting. */
package org.q2q.server.internal.registration;
