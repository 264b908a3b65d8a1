namespace Chat.Orleans;

/// <summary>
/// The rooms directory (PROTOCOL.md, "Rooms directory"), one for the cluster (key 0). Every silo reports
/// its active public rooms and their member counts on a timer; the directory answers from those reports,
/// so a request never wakes or asks a room. It keeps no state: re-activated elsewhere, it is whole again
/// after one report period.
/// </summary>
[Alias("chat.IRoomDirectoryGrain")]
public interface IRoomDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>A silo's rooms with members now, replacing its previous report.</summary>
    [Alias("Report")]
    Task Report(string silo, RoomCount[] rooms);

    /// <summary>The busiest rooms first, at most <paramref name="limit"/>, from reports that have not lapsed.</summary>
    [Alias("List")]
    Task<RoomCount[]> List(int limit);
}
