package proxyimpl

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// changeTracker remembers which Services changed (the Service itself or
// any of its EndpointSlices) since the last sync took the changes, with
// the earliest time each change was triggered, and whether something
// requires a full sync (a Node address change).
type changeTracker struct {
	mu       sync.Mutex
	services map[types.NamespacedName]time.Time
	full     bool
}

func newChangeTracker() *changeTracker {
	return &changeTracker{services: map[types.NamespacedName]time.Time{}}
}

// serviceChanged records a change of name triggered at when.
func (c *changeTracker) serviceChanged(name types.NamespacedName, when time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.services[name]; !ok || (when.Before(old) && !when.IsZero()) {
		c.services[name] = when
	}
}

// needFull records that the next sync must be a full one.
func (c *changeTracker) needFull() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.full = true
}

// pending returns how many Services changed since the last take.
func (c *changeTracker) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.services)
}

// take returns and forgets the changes.
func (c *changeTracker) take() (map[types.NamespacedName]time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	services, full := c.services, c.full
	c.services = map[types.NamespacedName]time.Time{}
	c.full = false
	return services, full
}

// putBack merges changes a failed sync took back in, keeping newer ones.
func (c *changeTracker) putBack(services map[types.NamespacedName]time.Time) {
	for name, when := range services {
		c.serviceChanged(name, when)
	}
}
