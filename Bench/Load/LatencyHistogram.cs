using System.Numerics;

namespace Chat.Orleans.Bench.Load;

/// <summary>
/// Latencies in microseconds, log-linear buckets (128 per power of two, under 1% error), recorded from
/// many threads without locks and merged across worker processes as sparse (bucket, count) pairs.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBuckets = 1 << SubBucketBits;

    private readonly long[] _counts = new long[64 * SubBuckets];
    private long _max;

    public void Record(long microseconds)
    {
        if (microseconds < 0)
        {
            microseconds = 0;
        }

        Interlocked.Increment(ref _counts[IndexOf(microseconds)]);
        RaiseTo(ref _max, microseconds);
    }

    /// <summary>Raises <paramref name="target"/> to <paramref name="value"/> if that is larger, atomically (recorders run on many threads).</summary>
    public static void RaiseTo(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    public long[][] ToSparse()
    {
        var pairs = new List<long[]>();
        for (var i = 0; i < _counts.Length; i++)
        {
            var count = Volatile.Read(ref _counts[i]);
            if (count > 0)
            {
                pairs.Add([i, count]);
            }
        }

        return [.. pairs];
    }

    public long MaxMicroseconds => Volatile.Read(ref _max);

    public void Add(long[][] sparse, long max)
    {
        foreach (var pair in sparse)
        {
            _counts[pair[0]] += pair[1];
        }

        _max = Math.Max(_max, max);
    }

    public void Reset()
    {
        Array.Clear(_counts);
        _max = 0;
    }

    /// <summary>The value at a percentile (0–100), as the upper edge of its bucket; 0 when empty.</summary>
    public double PercentileMilliseconds(double percentile)
    {
        long total = 0;
        foreach (var count in _counts)
        {
            total += count;
        }

        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(total * percentile / 100);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= Math.Max(rank, 1))
            {
                return Math.Min(UpperEdgeOf(i), _max) / 1000.0;
            }
        }

        return _max / 1000.0;
    }

    private static int IndexOf(long value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }

        var shift = 63 - BitOperations.LeadingZeroCount((ulong)value) - SubBucketBits;
        return ((shift + 1) << SubBucketBits) + (int)((value >> shift) - SubBuckets);
    }

    private static long UpperEdgeOf(int index)
    {
        if (index < 2 * SubBuckets)
        {
            return index;
        }

        var shift = (index >> SubBucketBits) - 1;
        var subBucket = index & (SubBuckets - 1);
        return ((long)(SubBuckets + subBucket) << shift) + (1L << shift) - 1;
    }
}
