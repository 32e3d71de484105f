*** Settings ***
Documentation       TCP echo server (seed port 50007).
...
...                 Each chunk the server receives is answered with ``Echo=>`` followed by
...                 the chunk, byte for byte (valid text or not), until the client has
...                 finished sending. Then the server closes the connection, having sent
...                 nothing beyond its replies.
...
...                 Replies are checked as a byte stream: a reply split over several
...                 segments, or arriving with the next one, is checked the same way.
...
...                 What is demanded: the seed program serves one client at a time, so by
...                 default so may the server under test. Serving clients at the same time
...                 (tag ``beyond-seed``) is checked only with ``--variable BEYOND_SEED:true``.
...                 Robustness (tag ``robustness``) is always checked.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    echo    tcp
Suite Teardown      Stop Target Server
Test Setup          Skip Beyond-Seed Tests Unless Demanded
Test Teardown       Close All Connections
Test Template       Message Should Be Echoed
Test Tags           tcp    echo
Test Timeout        ${TEST_TIMEOUT}


*** Test Cases ***                              MESSAGE
A Word Is Echoed                                hello
A Sentence Is Echoed                            hello world, how are you?
Non-ASCII Text Is Echoed                        héllo wörld 中文 😀
Whitespace Is Echoed As Sent                    ${SPACE}tab\tnewline\n
A Long Message Of 1000 Bytes Is Echoed          ${{ 'x' * 1000 }}

Bytes That Are Not UTF-8 Are Echoed Unchanged
    [Documentation]    Echo is byte for byte: bytes that are not valid text come back as sent.
    [Template]    Bytes Should Be Echoed
    c3 28 ff fe 80 e2 82

NUL, CR And LF Are Echoed Unchanged
    [Documentation]    Control bytes come back as sent, none dropped or translated.
    [Template]    Bytes Should Be Echoed
    00 0d 0a 41 00 0d 0d 0a

Several Messages On One Connection Are Each Echoed
    [Documentation]    The connection stays open and every message on it is echoed, each
    ...    reply exactly, with nothing before the next one.
    [Template]    NONE
    Given A Client
    Then Each Of 5 Messages Is Echoed

The Server Closes After The Client Has Finished Sending
    [Documentation]    Once the client has finished sending (a half-close, TCP FIN) and has
    ...    its reply, the server closes the connection, having sent nothing more.
    [Template]    NONE
    Given A Client
    And Each Of 1 Messages Is Echoed
    When It Finishes Sending
    Then The Server Closes Without Sending More

Successive Clients Are Each Echoed
    [Documentation]    When a client leaves, the next one is served.
    [Template]    NONE
    FOR    ${client}    IN RANGE    1    4
        Message Should Be Echoed    from client ${client}
        Close All Connections
    END

Two Clients At Once Are Each Echoed
    [Documentation]    While one client stays connected, another one is echoed.
    ...    Beyond the seed, which serves one client at a time.
    [Tags]    concurrency    beyond-seed
    [Template]    NONE
    Given Two Clients
    When Client "second" Sends "from the second client"
    Then Client "second" Receives "Echo=>from the second client"
    When Client "first" Sends "from the first client"
    Then Client "first" Receives "Echo=>from the first client"

A Client That Resets Mid-Conversation Does Not Stop The Server
    [Documentation]    A client that aborts with a reset while the server is answering
    ...    does not stop the server.
    [Tags]    robustness
    [Template]    NONE
    Given A Client
    And Each Of 1 Messages Is Echoed
    When It Sends And Resets Before Reading The Reply
    Then A New Client Is Still Echoed


*** Keywords ***
Message Should Be Echoed
    [Documentation]    A new client sends ``message`` and gets ``Echo=>`` + ``message``.
    [Arguments]    ${message}
    Open Client
    Send    ${message}
    Reply Should Be    Echo=>${message}

Bytes Should Be Echoed
    [Documentation]    A new client sends the bytes (hex) and gets ``Echo=>`` + those bytes.
    [Arguments]    ${hex}
    Open Client
    Send Bytes    ${hex}
    Reply Should Be Bytes    ${{ b'Echo=>' + bytes.fromhex($hex) }}

Each Of ${count} Messages Is Echoed
    [Documentation]    Send numbered messages one by one, each echoed before the next.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        Send    message number ${number}
        Reply Should Be    Echo=>message number ${number}
    END

It Sends And Resets Before Reading The Reply
    [Documentation]    Send a message and abort the connection with an RST at once.
    Send    this reply will never be read
    Reset Connection

A New Client Is Still Echoed
    [Documentation]    The server still answers, and its process still runs.
    The Server Process Should Still Run
    Message Should Be Echoed    still there?
