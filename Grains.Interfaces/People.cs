namespace Chat.Orleans;

/// <summary>
/// Who a person is, for reactions and presence (PROTOCOL.md, "Rich rooms"): a verified user is one person
/// whatever name or tab they use; anonymous sessions are one person per name.
/// </summary>
public static class People
{
    /// <summary>The person's key: <c>u:</c> and the user id, or <c>n:</c> and the name (the prefixes keep the two apart).</summary>
    public static string Key(string name, string? user) => user is not null ? "u:" + user : "n:" + name;
}
