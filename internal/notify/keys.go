package notify

import "strconv"

// Every Redis key of the package is built here. Batch keys share the hash
// tag {ID}, so one batch's coalescing keys live in one Redis Cluster slot
// and its Lua scripts are atomic.

func receiverKey(id string) string { return "ocr:notify:receiver:" + id }

func batchPrefix(batch string) string { return "ocr:notify:batch:{" + batch + "}:" }

func batchStateKey(batch string) string { return batchPrefix(batch) + "state" }

func failedKey(batch string) string { return batchPrefix(batch) + "failed" }

func droppedKey(batch string) string { return batchPrefix(batch) + "dropped" }

// flushKeys hold what the flush of one minute took from the failed list,
// so a retried flush sends exactly what it took the first time.
func flushKeys(batch string, minute int64) (list, dropped string) {
	p := batchPrefix(batch) + "flush:" + strconv.FormatInt(minute, 10)
	return p, p + ":dropped"
}
