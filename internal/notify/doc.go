// Package notify delivers signed webhooks about batches and vendors:
// batch.completed, document.failed (coalesced per batch per minute) and
// vendor.halted.
//
// Every delivery is an asynq task of its own (TypeDeliver) on the queue of
// the task that triggered it, so it survives worker restarts and is retried
// with exponential backoff for RetryWindow (24 h): at least once. The
// payload holds the event body and the receiver's ID, never its URL or
// secret: the worker looks both up in its own configuration at delivery
// time. Bodies carry counts, codes, vendor names and the user's own source
// URIs; never images, never personal data beyond what results hold masked.
//
// Each POST carries X-OCR-Event, X-OCR-Delivery (the delivery id, the same
// on every retry) and X-OCR-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>"> (Stripe's scheme; see Verify and
// docs/webhooks.md).
//
// Redis keys (internal/notify/keys.go):
//
//	ocr:notify:receiver:<id>              hash: delivery state of one receiver (State)
//	ocr:notify:batch:{ID}:state           hash: <receiver>/<event> -> outcome for one batch (30 days)
//	ocr:notify:batch:{ID}:failed          list: document.failed entries waiting for the minute's delivery (capped)
//	ocr:notify:batch:{ID}:dropped         counter: entries the cap dropped since the last delivery
//	ocr:notify:batch:{ID}:flush:<minute>  the entries one flush took (deleted once its deliveries are enqueued)
package notify
