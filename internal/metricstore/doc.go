// Package metricstore is madang's CloudWatch metric store: PutMetricData
// goes in (Put), GetMetricStatistics (Statistics), ListMetrics (List),
// the series the alarm evaluator and metric math read (Series) and the
// newest value for live views (Latest) come out.
//
// # Model
//
// A series is one metric (metric.ID) stored with one unit. Each of its
// periods holds a statistic set (SampleCount, Sum, Minimum, Maximum) and,
// for the extended statistics (pNN, TM, WM, TC, TS, PR, IQM), a DDSketch
// (github.com/DataDog/sketches-go) of relative accuracy 1 %
// (RelativeAccuracy): a percentile is within 1 % of a sample of that
// rank; samples are not kept. While all the samples of a period are
// equal no sketch exists (the value is the distribution). Values with
// Counts feed the sketch with weights. A StatisticValues datum feeds it
// only when SampleCount is 1 or Minimum equals Maximum, as in CloudWatch;
// otherwise the period (and every period it is rolled up into) has no
// distribution, and its datapoints carry no value for an extended
// statistic (the key is absent from Datapoint.Values, and Series skips
// the period). Negative values: CloudWatch has no percentiles for data
// with negative values, and neither has this store: a negative sample
// drops the period's distribution (the statistic set stays exact).
// Statistics with value bounds (TM(150:1000), PR(:300)) classify
// samples by their sketch bin, so samples within 1 % of a bound may
// fall on either side.
//
// # Tiers and rollups
//
// The tiers are CloudWatch's: 1-second periods kept 3 hours, 60 s kept 15
// days, 300 s kept 63 days, 3600 s kept 455 days. High-resolution data
// (StorageResolution 1) enters at the 1-second tier (or at 60 s when it
// is older than 3 hours), standard data at 60 s. A datum is merged into
// its period in its base tier and in every coarser tier at once; merging
// statistic sets and sketches is exact up to the sketch's accuracy, so a
// rollup is the aggregate of the raw data (TestRollupAgreesWithRaw
// compares every tier with two hours of random data aggregated by hand).
// A period stays "hot" (mutable, in memory) until its end plus a lag
// (5 s, 15 s, 30 s, 60 s); then it is sealed: encoded into its series'
// block for the window, and, for the rollup tiers, its rolled-up part is
// written to the tier's segment. Data for a period already sealed is
// appended as an extra record; readers merge records of one period.
//
// Queries: periods of 1, 5, 10 or 30 s read the 1-second tier (only
// while the start is less than 3 hours old; high-resolution data only);
// a multiple of 60 reads the finest tier whose period divides it and
// that still keeps the start. Start times older than 15 days need
// multiples of 300, older than 63 days multiples of 3600
// (InvalidParameterCombination, field Period; CloudWatch returns no data
// there, madang says why). Start is rounded down to the period boundary,
// periods are aligned to the epoch and End is exclusive; one Statistics
// call returns at most 1,440 datapoints. Without Query.Unit, data stored
// with different units comes back as separate datapoints per unit.
//
// # Storage
//
// Own files, chosen on measurement over the embedded bbolt the project
// already uses: the data is written once, appended, read by time range
// and dropped by whole windows, and a one-sample period costs 2–13
// bytes here. Three hours of 1-second records for 10 series (one
// transaction per second, 16-byte keys, 10-byte values) made a 16.8 MB
// bbolt file — 1.68 MB per series against 108 KB in these files — and
// each transaction cost 2.3 ms with bbolt's default fsync, where a Put of
// 1000 series here costs 1.3–5.3 ms (see below). Options.Dir holds:
//
//   - LOCK: flocked by the process that has the store open; a second
//     Open of the directory fails.
//   - series.log: the series (ref, unit, ID), appended in frames.
//   - tK-W.seg: tier K's window W (15 min, 3 h, 6 h, 1 day of periods):
//     frames (magic, length, CRC-32C, payload) of records (series ref,
//     period offset, flags, the statistic set — a value alone for a
//     uniform period, varints for integers — and the sketch's ddsketch
//     encoding) and watermark markers. Put writes each datum's record in
//     its base tier with one write(2) per file per Put before returning;
//     sealing writes a rollup tier's records and its new watermark in
//     one write.
//   - tK-W.blk: once every period of a window is sealed, the window's
//     blocks of all series are compacted into a block file (blocks,
//     index by series, tail with the watermark; written to a temporary
//     file, fsynced, renamed) and dropped from memory; queries pread the
//     index and the one block they need. tK-W.late holds records that
//     arrive for a compacted window.
//
// Durability: data is in the kernel's page cache when Put returns, which
// survives kill -9 of the process (TestCrashKill9 kills a child process
// mid-stream and finds every acknowledged datum) but not a power loss
// before write-back; Flush (and Close) fsync. Recovery reads the series,
// the block files' tails and the segments, truncates a torn last frame,
// and rebuilds each rollup tier's unsealed periods from the finer tier
// (the watermark says which, so nothing is counted twice;
// TestReopenAfterCompaction). Memory holds the hot periods and about one
// window per tier; disk is bounded by retention (expired windows are
// deleted; a Put past Options.MaxSeries is refused).
//
// Maintenance (sealing, compaction, retention) runs in a goroutine that
// Open starts and Close stops, every Options.Interval (1 s); with a
// negative Interval the owner calls Maintain (the tests, with a fake
// clock).
//
// # Measured footprint
//
// go test -run TestFootprint -v ./internal/metricstore/ simulates one
// day (fake clock) and prints, per series:
//
//	series                             disk after 1 day   memory, peak
//	(a) CPU: 1 value/s, resolution 1        329 KB           64 KB
//	(b) latency: 100 values/s, res. 1      2.33 MB          294 KB
//	(c) standard: 1 value/min               13.5 KB          5.9 KB
//
// Per tier after a day, disk: (a) 1 s 108 KB (3 hours, then steady),
// 60 s 141 KB, 300 s 69 KB, 3600 s 12 KB; (b) 1.51 MB, 651 KB, 155 KB,
// 18 KB; (c) 60 s 5.9 KB, 300 s 5.6 KB, 3600 s 1.8 KB. The rollup tiers
// are mostly sketches (a minute of 60 distinct values is ~100 bytes).
// At full retention that extrapolates to about 12 MB (a), 29 MB (b) and
// 1.3 MB (c) per series. Memory is the store's own estimate (Stats),
// which agrees with the heap measured by the same test.
//
// Benchmarks (go test -run '^$' -bench . ./internal/metricstore/, 2
// cores of an AMD EPYC shared with other work): BenchmarkPut, one Put of
// 1000 one-value high-resolution series (the collectors' load for one
// second, maintenance included every 10 ops): 1.3–5.3 ms/op wall time
// depending on the machine's other load; the CPU time it reports
// (cpu-ns/op, from getrusage, GC included) was 1.9–3.7 ms/op, i.e.
// 0.19–0.37 % of one core at one Put per second (core-%); 661 allocs/op,
// 125 KB/op. About half of it is the sketches of the hot periods.
// BenchmarkStatistics, an hour in 1-minute periods with Average and p99
// over 3 hours of 1-second data: 0.4–1.2 ms/op, 2004 allocs/op.
//
// # Differences from CloudWatch
//
// Periods of 20 s are refused (the API reference lists them in one
// place only). Series applies the range and period rules but not the
// 1,440-datapoint limit, and merges units. List's RecentlyActive counts
// from the last Put's arrival (after a reopen: from the newest period in
// the segments, or the reopen itself for a series whose data is all in
// block files). Series are forgotten only once their data has expired from
// every tier (455 days). Sub-second timestamps are truncated to the
// second.
package metricstore
