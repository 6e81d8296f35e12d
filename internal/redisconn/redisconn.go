// Package redisconn turns the redis section of the configuration (mode and
// URL) into the two things every binary needs: asynq's connection option
// (for asynqmon and anything asynq builds itself) and a go-redis client for
// asynq's client, server and inspector and for our own keys (rate limits,
// halts, batches, notifications). Both always point at the same servers.
//
//	mode single (default): the URL as asynq parses it: redis://, rediss://,
//	    redis-socket://, or redis-sentinel://host1:26379,host2:26379?master=NAME
//	    (a Sentinel URL gives a failover client: it follows the primary the
//	    sentinels elect)
//	mode cluster: go-redis's cluster URL, redis://h1:7000?addr=h2:7001&addr=h3:7002
//	    (rediss:// for TLS), seed nodes from which the client learns the cluster
//
// Every multi-key operation of ours (Lua scripts, MULTI) keeps its keys under
// one hash tag ({vendor}, {batch ID}) so it runs on Redis Cluster too.
package redisconn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// The values of redis.mode.
const (
	ModeSingle  = "single"
	ModeCluster = "cluster"
)

// CheckMode accepts "" (single), single and cluster.
func CheckMode(mode string) error {
	switch mode {
	case "", ModeSingle, ModeCluster:
		return nil
	}
	return fmt.Errorf("unknown mode %q (want single or cluster)", mode)
}

// Parse returns asynq's connection option for mode and rawURL. Its errors
// never quote the URL (it may hold a password; the binaries log errors).
func Parse(mode, rawURL string) (asynq.RedisConnOpt, error) {
	if err := CheckMode(mode); err != nil {
		return nil, err
	}
	if mode == ModeCluster {
		o, err := parseCluster(rawURL)
		if err != nil {
			return nil, err
		}
		return clusterOpt(o), nil
	}
	return parseSingle(rawURL)
}

// Open parses like Parse and also returns a go-redis client on the same
// servers: a *redis.Client, a failover client for a Sentinel URL, or a
// *redis.ClusterClient. The caller closes it.
func Open(mode, rawURL string) (asynq.RedisConnOpt, redis.UniversalClient, error) {
	if err := CheckMode(mode); err != nil {
		return nil, nil, err
	}
	if mode == ModeCluster {
		o, err := parseCluster(rawURL)
		if err != nil {
			return nil, nil, err
		}
		// Our client gets every option of the URL (timeouts, pool sizes,
		// read_only...); asynq's option carries the subset asynq knows.
		return clusterOpt(o), redis.NewClusterClient(o), nil
	}
	opt, err := parseSingle(rawURL)
	if err != nil {
		return nil, nil, err
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, nil, errors.New("unsupported connection type")
	}
	return opt, rdb, nil
}

func parseSingle(raw string) (asynq.RedisConnOpt, error) {
	// asynq's parser ignores the query of redis:// URLs, so a cluster URL
	// would silently connect to its first node only.
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "redis" || u.Scheme == "rediss") && u.Query().Has("addr") {
		return nil, errors.New("not a usable Redis URL: addr= lists cluster nodes; set redis.mode: cluster")
	}
	opt, err := asynq.ParseRedisURI(raw)
	if err != nil {
		return nil, scrub(raw, err)
	}
	return opt, nil
}

// ClusterStateReload is how often our cluster client re-reads which node
// serves which slot. go-redis (v9.22+) waits 60 s by default and does not
// re-read on "connection refused" (redis/go-redis#3979), so after a primary
// dies it would keep dialing it for up to a minute although its replica
// took over within seconds. One CLUSTER SLOTS every few seconds per process
// costs nothing.
const ClusterStateReload = 3 * time.Second

func parseCluster(raw string) (*redis.ClusterOptions, error) {
	if strings.HasPrefix(raw, "redis-sentinel:") || strings.HasPrefix(raw, "redis-socket:") {
		return nil, errors.New("not a usable Redis URL: a cluster URL is redis:// or rediss:// (Sentinel and socket URLs take redis.mode: single)")
	}
	o, err := redis.ParseClusterURL(raw)
	if err != nil {
		return nil, scrub(raw, err)
	}
	o.ClusterStateReloadInterval = ClusterStateReload
	return o, nil
}

// clusterOpt is the asynq option for the same cluster.
func clusterOpt(o *redis.ClusterOptions) asynq.RedisClusterClientOpt {
	return asynq.RedisClusterClientOpt{
		Addrs:        o.Addrs,
		MaxRedirects: o.MaxRedirects,
		Username:     o.Username,
		Password:     o.Password,
		DialTimeout:  o.DialTimeout,
		ReadTimeout:  o.ReadTimeout,
		WriteTimeout: o.WriteTimeout,
		TLSConfig:    o.TLSConfig,
	}
}

// scrub turns a parse error into one that never quotes the URL:
// url.Parse's errors hold the whole string, password included. What is
// left names the problem ("invalid port").
func scrub(raw string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := strings.ReplaceAll(err.Error(), raw, "…")
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at > 0 {
			msg = strings.ReplaceAll(msg, rest[:at], "…") // the userinfo, however it was quoted
		}
	}
	return errors.New("not a usable Redis URL: " + msg)
}
