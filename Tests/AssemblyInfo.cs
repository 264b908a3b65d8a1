// Test classes run one after another: each starts its own PostgreSQL, silos, gateways and browser,
// and the fault tests measure failover times, which two cores shared by many clusters would distort.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
