using System.Globalization;
using System.Text;

namespace Chat.Orleans.Gateway.Protocol;

/// <summary>
/// What counts as one emoji for a reaction (PROTOCOL.md, "Reactions"): one grapheme cluster of at most
/// 16 bytes of UTF-8 that is an emoji or an emoji sequence. .NET has no table of the Unicode <c>Emoji</c>
/// property, so its base is checked by category and block instead: a pictographic symbol (category
/// <c>So</c> in the blocks where emoji live, regional indicators for flags included), or a keycap (a digit,
/// <c>#</c> or <c>*</c>, then U+FE0F U+20E3); what follows the base may only be what emoji sequences are
/// made of (variation selectors, skin tones, zero-width joiners with further pictographs, tags, the keycap
/// mark). Letters, digits on their own, punctuation, control characters and lone surrogates are refused.
/// </summary>
public static class EmojiRules
{
    public const int MaxBytes = 16;

    public static bool IsEmoji(string? text)
    {
        if (string.IsNullOrEmpty(text) || Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            return false;
        }

        // One user-perceived character: the whole text is one text element.
        if (StringInfo.GetNextTextElementLength(text) != text.Length)
        {
            return false;
        }

        // A lone surrogate enumerates as the replacement character, which is no emoji either.
        var runes = new List<Rune>(8);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune == Rune.ReplacementChar)
            {
                return false;
            }

            runes.Add(rune);
        }

        return IsKeycap(runes) || (IsPictograph(runes[0]) && runes.Skip(1).All(IsSequencePart));
    }

    private static bool IsKeycap(List<Rune> runes) =>
        runes.Count is 2 or 3
        && (Rune.IsDigit(runes[0]) || runes[0].Value is '#' or '*')
        && runes[^1].Value == 0x20E3
        && (runes.Count == 2 || runes[1].Value == 0xFE0F);

    private static bool IsPictograph(Rune rune)
    {
        var value = rune.Value;
        var inEmojiBlocks = value is (>= 0x1F000 and <= 0x1FAFF) or (>= 0x2600 and <= 0x27BF) or (>= 0x2300 and <= 0x23FF)
            or (>= 0x2B00 and <= 0x2BFF) or (>= 0x2190 and <= 0x21FF) or (>= 0x25A0 and <= 0x25FF) or (>= 0x2900 and <= 0x297F)
            or 0x00A9 or 0x00AE or 0x203C or 0x2049 or 0x2122 or 0x2139 or 0x24C2 or 0x3030 or 0x303D or 0x3297 or 0x3299;
        if (!inEmojiBlocks)
        {
            return false;
        }

        // Within those blocks, symbols only: not the letters, digits and punctuation some of them hold.
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.OtherSymbol or UnicodeCategory.MathSymbol;
    }

    private static bool IsSequencePart(Rune rune) =>
        rune.Value is 0xFE0F or 0xFE0E or 0x200D or 0x20E3
        || rune.Value is >= 0x1F3FB and <= 0x1F3FF
        || rune.Value is >= 0xE0020 and <= 0xE007F
        || IsPictograph(rune);
}
