namespace ModelGen.Runtime.Generation;

/// <summary>A request refused because every sequence slot is busy and the queue of requests waiting for one is full.</summary>
public sealed class GenerationQueueFullException(int slots, int queueCapacity)
    : Exception($"all {slots} sequence slots are busy and {queueCapacity} requests are already waiting: try again later")
{
    public int Slots { get; } = slots;

    public int QueueCapacity { get; } = queueCapacity;
}
