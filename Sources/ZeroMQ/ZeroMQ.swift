// The ZeroMQ wrapper: Context, Socket, Message, Poller.
import CZeroMQ
