namespace Ferry.Bench.WanEmu;

/// <summary>
/// Two-state Gilbert-Elliott loss: per packet the chain moves Good to Bad with <see cref="GoodToBad"/> and Bad to
/// Good with <see cref="BadToGood"/>; a packet is lost with <see cref="LossInBad"/> in Bad and <see cref="LossInGood"/>
/// in Good. Mean burst length is 1 / BadToGood packets; long-run loss is
/// (GoodToBad * LossInBad + BadToGood * LossInGood) / (GoodToBad + BadToGood).
/// </summary>
internal sealed class GilbertElliottConfig
{
    public double GoodToBad { get; set; }

    public double BadToGood { get; set; } = 1;

    public double LossInBad { get; set; } = 1;

    public double LossInGood { get; set; }

    public GilbertElliottConfig Clone() => (GilbertElliottConfig)MemberwiseClone();
}
