package io.vmap.http;

import com.typesafe.config.Config;
import io.vmap.http.api.BatchRequest;
import io.vmap.protocol.Limits;

/**
 * The HTTP API's bounds, {@code vmap.limits.http} in reference.conf (the tag, request id and batch
 * limits of {@code vmap.limits} apply through the client).
 *
 * @param bodyBytes largest body of {@code POST /v1/areas} (413 over it)
 * @param batchBodyBytes largest body of {@code POST /v1/areas/batch} (413 over it)
 * @param batchOps most operations in one batch request (400 EINVAL over it)
 * @param inFlightOps operations this member's API serves at once, over every connection (a single
 *     request counts one, a batch its operations); a request that would exceed it is answered 503
 *     EAGAIN at once. Per connection, Akka HTTP dispatches one request at a time
 *     ({@code akka.http.server.pipelining-limit = 1}): pipelined requests wait unread.
 */
record HttpLimits(long bodyBytes, long batchBodyBytes, int batchOps, int inFlightOps) {

  static final String PATH = Limits.PATH + ".http";

  HttpLimits {
    if (bodyBytes < 1) throw new IllegalArgumentException(PATH + ".body-bytes: " + bodyBytes + " < 1");
    if (batchBodyBytes < 1) throw new IllegalArgumentException(PATH + ".batch-body-bytes: " + batchBodyBytes + " < 1");
    if (batchOps < 1) throw new IllegalArgumentException(PATH + ".batch-ops: " + batchOps + " < 1");
    if (inFlightOps < batchOps) {
      // Else a full batch could never be served.
      throw new IllegalArgumentException(PATH + ".in-flight-ops: " + inFlightOps + " is below batch-ops " + batchOps);
    }
  }

  static HttpLimits defaults() {
    return new HttpLimits(64 * 1024, 8L << 20, BatchRequest.MAX_OPS, 100_000);
  }

  /** {@code vmap.limits.http} of {@code c}; the default of a key it lacks. */
  static HttpLimits from(Config c) {
    HttpLimits d = defaults();
    return new HttpLimits(
        c.hasPath(PATH + ".body-bytes") ? c.getBytes(PATH + ".body-bytes") : d.bodyBytes,
        c.hasPath(PATH + ".batch-body-bytes") ? c.getBytes(PATH + ".batch-body-bytes") : d.batchBodyBytes,
        c.hasPath(PATH + ".batch-ops") ? c.getInt(PATH + ".batch-ops") : d.batchOps,
        c.hasPath(PATH + ".in-flight-ops") ? c.getInt(PATH + ".in-flight-ops") : d.inFlightOps);
  }
}
