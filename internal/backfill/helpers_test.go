package backfill

import (
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

const testConfig = `
redis: {url: redis://unused}
vendors:
  clova: {kind: clova-ocr, url: https://emulator/clova-ocr}
routes: {receipt: clova}
schedules:
  - {name: nightly, cron: "0 2 * * *", source: s3://inbox/backlog/, type: receipt, out: s3://outbox/results/}
`

func testCfg(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// redisOpt starts a real redis-server for the test.
func redisOpt(t *testing.T) asynq.RedisClientOpt {
	t.Helper()
	return asynq.RedisClientOpt{Addr: testenv.StartRedis(t).Addr}
}
