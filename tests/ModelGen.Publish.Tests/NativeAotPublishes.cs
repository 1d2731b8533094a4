namespace ModelGen.Publish.Tests;

/// <summary>
/// The test classes that run <c>modelgen publish</c>, one after another: every NativeAOT publish builds the ModelGen
/// libraries in the same build slot (artifacts/slot-modelgen-aot), and two builds of one project at once collide.
/// </summary>
[CollectionDefinition(Name)]
public sealed class NativeAotPublishes
{
    public const string Name = "NativeAOT publishes";
}
