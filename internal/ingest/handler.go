package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// KeyAuthenticator checks a write key and returns the id of its source.
// auth.Service implements it (with a short in-memory cache, since every
// request asks).
type KeyAuthenticator interface {
	AuthenticateWriteKey(ctx context.Context, secret string) (int64, error)
}

// Handler serves the tracking API under /v1/.
type Handler struct {
	keys    KeyAuthenticator
	writer  *Writer
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
}

// NewHandler returns the tracking API handler. Mount it at "/v1/".
func NewHandler(keys KeyAuthenticator, w *Writer, m *Metrics, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{keys: keys, writer: w, metrics: m, log: log, now: time.Now}
}

// endpoints maps /v1/<name> to the message type it implies ("" for batch).
// The one-letter forms are Segment's short aliases.
var endpoints = map[string]string{
	"track": TypeTrack, "t": TypeTrack,
	"identify": TypeIdentify, "i": TypeIdentify,
	"page": TypePage, "p": TypePage,
	"screen": TypeScreen, "s": TypeScreen,
	"group": TypeGroup, "g": TypeGroup,
	"alias": TypeAlias, "a": TypeAlias,
	"batch": "", "import": "",
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	typ, ok := endpoints[name]
	if !ok {
		writeError(w, http.StatusNotFound, kizuna.Errorf(kizuna.ENOTFOUND, "unknown endpoint /v1/%s (want track, identify, page, screen, group, alias or batch)", name))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, kizuna.Errorf(kizuna.EINVALID, "use POST for /v1/%s", name))
		return
	}
	batch := typ == "" && (name == "batch" || name == "import")
	limit := int64(MaxEventBytes)
	if batch {
		limit = MaxBatchBytes
	}
	body, err := readBody(r, limit)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	receivedAt := h.now().UTC()

	// Segment takes the write key as the Basic user name, or in the body.
	key, _, ok := r.BasicAuth()
	if !ok || key == "" {
		key = writeKeyFromBody(body)
	}
	if key == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="kizuna"`)
		writeError(w, http.StatusUnauthorized, kizuna.Errorf(kizuna.EUNAUTHORIZED, "a write key is required (HTTP Basic user name)"))
		return
	}
	sourceID, err := h.keys.AuthenticateWriteKey(r.Context(), key)
	if err != nil {
		if kizuna.ErrorCode(err) == kizuna.EINTERNAL {
			h.log.Error("ingest: write key check failed", "err", err)
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="kizuna"`)
		writeError(w, http.StatusUnauthorized, kizuna.Errorf(kizuna.EUNAUTHORIZED, "unknown or revoked write key"))
		return
	}

	if batch {
		h.serveBatch(w, r, body, sourceID, receivedAt)
		return
	}
	msg, order, err := parseOne(body, typ, time.Time{}, nil, receivedAt)
	if err != nil {
		h.metrics.invalid(1)
		writeError(w, statusOf(err), err)
		return
	}
	results, err := h.writer.Submit(r.Context(), sourceID, []*Message{msg}, []*customer.OrderInput{order})
	if err != nil {
		h.refused(w, err)
		return
	}
	res := results[0]
	if res.Err != nil {
		writeError(w, res.Status, res.Err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "duplicate": res.Duplicate})
}

// parseOne validates a message and, for an order event, its order.
func parseOne(raw []byte, typ string, sentAt time.Time, ctx json.RawMessage, receivedAt time.Time) (*Message, *customer.OrderInput, error) {
	m, err := ParseMessage(raw, typ, sentAt, ctx, receivedAt)
	if err != nil {
		return nil, nil, err
	}
	return withOrder(m)
}

// withOrder validates an order event's order.
func withOrder(m *Message) (*Message, *customer.OrderInput, error) {
	if status := orderStatus(m); status != "" {
		o, err := orderInput(m, status)
		if err != nil {
			return nil, nil, err
		}
		return m, o, nil
	}
	return m, nil, nil
}

// BatchResult is the outcome of one message of a batch.
type BatchResult struct {
	Index     int           `json:"index"`
	MessageID string        `json:"messageId,omitempty"`
	Status    int           `json:"status"`
	Duplicate bool          `json:"duplicate,omitempty"`
	Error     *errorPayload `json:"error,omitempty"`
}

// BatchResponse answers /v1/batch. Status is 200 when every message was
// stored (or was a replay), 207 when some were refused, and 400 when none
// was stored; each message has its own result either way.
type BatchResponse struct {
	Success    bool          `json:"success"`
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Results    []BatchResult `json:"results"`
}

func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request, body []byte, sourceID int64, receivedAt time.Time) {
	// Fast path: decode the envelope and every message's fields in one
	// pass (encoding/json scans its input twice per Unmarshal; decoding
	// each message again would double that). A batch holding something
	// other than objects takes the slow path, message by message, so the
	// odd one gets its own error.
	var fast struct {
		Batch   []map[string]json.RawMessage `json:"batch"`
		SentAt  *string                      `json:"sentAt"`
		Context json.RawMessage              `json:"context"`
	}
	var env struct {
		Batch   []json.RawMessage `json:"batch"`
		SentAt  *string           `json:"sentAt"`
		Context json.RawMessage   `json:"context"`
	}
	if err := json.Unmarshal(body, &fast); err == nil {
		env.SentAt, env.Context = fast.SentAt, fast.Context
		if fast.Batch != nil {
			env.Batch = make([]json.RawMessage, len(fast.Batch))
		}
	} else {
		fast.Batch = nil
		if err := json.Unmarshal(body, &env); err != nil {
			writeError(w, http.StatusBadRequest, kizuna.Errorf(kizuna.EINVALID, "body is not a JSON batch object: %s", jsonErr(err)))
			return
		}
	}
	if env.Batch == nil {
		writeError(w, http.StatusBadRequest, kizuna.FieldError("batch", "batch is required: an array of messages"))
		return
	}
	if len(env.Batch) > MaxBatchItems {
		writeError(w, http.StatusRequestEntityTooLarge, &kizuna.Error{Code: kizuna.ETOOLARGE, Field: "batch",
			Message: fmt.Sprintf("batch has %d messages; the limit is %d", len(env.Batch), MaxBatchItems)})
		return
	}
	var sentAt time.Time
	if env.SentAt != nil {
		t, err := parseTime(*env.SentAt)
		if err != nil {
			writeError(w, http.StatusBadRequest, kizuna.FieldError("sentAt", "sentAt %q is not an ISO 8601 date-time", *env.SentAt))
			return
		}
		sentAt = t
	}
	if len(env.Context) > 0 && (isNull(env.Context) || bytes.TrimSpace(env.Context)[0] != '{') {
		env.Context = nil
	}

	resp := BatchResponse{Results: make([]BatchResult, len(env.Batch))}
	var msgs []*Message
	var orders []*customer.OrderInput
	var index []int
	for i, raw := range env.Batch {
		resp.Results[i].Index = i
		var m *Message
		var o *customer.OrderInput
		var err error
		var fields map[string]json.RawMessage
		if fast.Batch != nil {
			fields = fast.Batch[i]
			if n := fieldsSize(fields); n > MaxEventBytes {
				err = tooLarge(n)
			} else if m, err = parseFields(fields, "", sentAt, env.Context, receivedAt); err == nil {
				m, o, err = withOrder(m)
			}
		} else {
			m, o, err = parseOne(raw, "", sentAt, env.Context, receivedAt)
		}
		if err != nil {
			resp.Results[i].Status = statusOf(err)
			resp.Results[i].Error = payloadOf(err, fmt.Sprintf("batch[%d].", i))
			if fields != nil {
				resp.Results[i].MessageID = messageIDOfFields(fields)
			} else {
				resp.Results[i].MessageID = messageIDOf(raw)
			}
			continue
		}
		resp.Results[i].MessageID = m.MessageID
		msgs = append(msgs, m)
		orders = append(orders, o)
		index = append(index, i)
	}
	h.metrics.invalid(len(env.Batch) - len(msgs))
	if len(msgs) > 0 {
		results, err := h.writer.Submit(r.Context(), sourceID, msgs, orders)
		if err != nil {
			h.refused(w, err)
			return
		}
		for j, res := range results {
			br := &resp.Results[index[j]]
			br.Status, br.Duplicate = res.Status, res.Duplicate
			if res.Err != nil {
				br.Error = payloadOf(res.Err, fmt.Sprintf("batch[%d].", index[j]))
			}
		}
	}
	for _, br := range resp.Results {
		switch {
		case br.Status == StatusAccepted && br.Duplicate:
			resp.Duplicates++
		case br.Status == StatusAccepted:
			resp.Accepted++
		default:
			resp.Rejected++
		}
	}
	resp.Success = resp.Rejected == 0
	status := http.StatusOK
	switch {
	case resp.Rejected == len(resp.Results) && len(resp.Results) > 0:
		status = http.StatusBadRequest
	case resp.Rejected > 0:
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, resp)
}

// refused answers a request the writer did not take.
func (h *Handler) refused(w http.ResponseWriter, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The client is gone; it will retry and find its messages.
		writeError(w, http.StatusServiceUnavailable, &kizuna.Error{Code: kizuna.EUNAVAILABLE, Message: "request cancelled"})
		return
	}
	if kizuna.ErrorCode(err) == kizuna.EUNAVAILABLE {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, statusOf(err), err)
}

func messageIDOf(raw []byte) string {
	var v struct {
		MessageID any `json:"messageId"`
	}
	if json.Unmarshal(raw, &v) == nil {
		if s, ok := v.MessageID.(string); ok && len(s) <= maxIDLength {
			return s
		}
	}
	return ""
}

func messageIDOfFields(fields map[string]json.RawMessage) string {
	var s string
	if json.Unmarshal(fields["messageId"], &s) == nil && len(s) <= maxIDLength {
		return s
	}
	return ""
}

func writeKeyFromBody(body []byte) string {
	var v struct {
		WriteKey string `json:"writeKey"`
	}
	_ = json.Unmarshal(body, &v)
	return v.WriteKey
}

// readBody reads at most limit bytes of the (possibly gzipped) body; more
// is ETOOLARGE, so an oversized request is refused, never truncated.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	var src io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(io.LimitReader(r.Body, 4*limit))
		if err != nil {
			return nil, kizuna.Errorf(kizuna.EINVALID, "body is not valid gzip: %v", err)
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, kizuna.Errorf(kizuna.EINVALID, "could not read the body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, &kizuna.Error{Code: kizuna.ETOOLARGE, Message: fmt.Sprintf("body is larger than %d bytes (%s)", limit, sizeName(limit))}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, kizuna.Errorf(kizuna.EINVALID, "body is empty; send a JSON object")
	}
	return body, nil
}

func sizeName(limit int64) string {
	if limit == MaxBatchBytes {
		return "500 KB per batch"
	}
	return "32 KB per message"
}

type errorPayload struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func payloadOf(err error, fieldPrefix string) *errorPayload {
	p := &errorPayload{Code: kizuna.ErrorCode(err), Message: kizuna.ErrorMessage(err), Field: kizuna.ErrorField(err)}
	if p.Field != "" {
		p.Field = fieldPrefix + p.Field
	}
	return p
}

func statusOf(err error) int { return kizuna.HTTPStatus(kizuna.ErrorCode(err)) }

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]any{"success": false, "error": payloadOf(err, "")})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// basicUser decodes the user name of a Basic Authorization header value;
// used by tests and the bench client.
func basicUser(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}
