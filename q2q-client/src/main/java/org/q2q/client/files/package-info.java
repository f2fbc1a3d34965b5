/**
 * A minimal file service on virtual channels (service {@value org.q2q.client.files.FileTransfer#SERVICE}):
 * one file per channel, its name and size, the bytes, and the sender's SHA-256, checked by the
 * receiver, which answers whether the file was stored. Used by {@code q2q send} and {@code q2q
 * receive}; the wire format is in {@link org.q2q.client.files.FileTransfer}.
 */
package org.q2q.client.files;
