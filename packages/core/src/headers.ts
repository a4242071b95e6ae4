// The HTTP header names Picket's two sides agree on: @picket/health's loadReporter writes them and
// @picket/http's dispatcher reads them, so each is spelt here once.

/** Sent by a shedding server: it did not process the request, so any method may be sent again. */
export const NOT_PROCESSED_HEADER = 'picket-not-processed';

/** An in-band load report (ORCA), `TEXT k=v, …` or `JSON {…}` (Envoy's spelling). */
export const LOAD_HEADER = 'endpoint-load-metrics';
/** The same report as bare JSON. */
export const LOAD_JSON_HEADER = 'endpoint-load-metrics-json';
/** The report as an `OrcaLoadReport` protobuf, base64 (gRPC's spelling). */
export const LOAD_BIN_HEADER = 'endpoint-load-metrics-bin';
/** The request header that asks a server for a report, in the form given (`TEXT` or `JSON`). */
export const LOAD_FORMAT_HEADER = 'endpoint-load-metrics-format';
