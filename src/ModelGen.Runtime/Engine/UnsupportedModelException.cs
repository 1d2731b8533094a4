namespace ModelGen.Runtime.Engine;

/// <summary>A GGUF file the engine cannot run: unknown architecture, missing or mis-shaped tensor, unsupported type.</summary>
public sealed class UnsupportedModelException(string message) : Exception(message);
