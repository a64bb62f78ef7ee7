// Run by the conformance suite: an SDK script that never calls process.exit() must end by
// itself soon after its work, although coved refuses the socket.io event stream.
import { Daytona } from '@daytonaio/sdk';

const d = new Daytona({ apiKey: process.env.COVE_KEY, apiUrl: process.env.COVE_API_URL });
const s = await d.create();
const r = await s.process.executeCommand('echo hi');
await s.delete();
console.log(r.result.trim());
