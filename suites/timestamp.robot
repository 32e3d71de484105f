*** Settings ***
Documentation       TCP timestamp server (seed port 11000).
...
...                 Each chunk the server receives is answered with the current time in
...                 ``time.ctime()`` format immediately followed by the chunk, for example
...                 ``Sun Dec 16 17:04:10 2018client message`` (with ``TIMESTAMP_FORMAT:bracket``:
...                 ``[Sun Dec 16 17:04:10 2018] client message``). The time must be within
...                 ``CLOCK_TOLERANCE`` seconds of this machine's clock, in its time zone.
...                 The connection stays open until the client has finished sending; then
...                 the server closes it, having sent nothing beyond its replies.
...
...                 Replies are checked as a byte stream: a reply split over several
...                 segments, or arriving with the next one, is checked the same way.
...
...                 What is demanded: the seed program serves one client at a time, so by
...                 default so may the server under test. Serving clients at the same time
...                 (tag ``beyond-seed``) is checked only with ``--variable BEYOND_SEED:true``.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    timestamp    tcp    --format    ${TIMESTAMP_FORMAT}
Suite Teardown      Stop Target Server
Test Setup          Skip Beyond-Seed Tests Unless Demanded
Test Teardown       Close All Connections
Test Template       Message Should Come Back With The Current Time
Test Tags           tcp    timestamp
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${TIMESTAMP_FORMAT}     ctime
${CLOCK_TOLERANCE}      3
${CTIME}                [A-Z][a-z]{2} [A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}


*** Test Cases ***                              MESSAGE
A Short Message Gets The Time                   client message
Non-ASCII Text Round-Trips                      héllo wörld 中文
Whitespace Is Kept                              ${SPACE}tab\tend\n
A Long Message Of 1000 Bytes Gets The Time      ${{ 'x' * 1000 }}

Several Messages On One Connection Are Each Answered
    [Documentation]    The connection stays open, and every message on it gets its own
    ...    time-stamped reply.
    [Template]    NONE
    Given A Client
    Then Each Of 5 Messages Comes Back With The Current Time

The Server Closes After The Client Has Finished Sending
    [Documentation]    Once the client has finished sending (a half-close, TCP FIN) and has
    ...    its reply, the server closes the connection, having sent nothing more.
    [Template]    NONE
    Given A Client
    And It Has Been Answered    the last message
    When It Finishes Sending
    Then The Server Closes Without Sending More

A Second Client Is Served After The First Leaves
    [Documentation]    When a client closes its connection, the next client is served.
    [Template]    NONE
    Given A Client
    And It Has Been Answered    from the first client
    When It Leaves
    Then A New Client Is Answered Too

A Client That Resets Mid-Conversation Does Not Stop The Server
    [Documentation]    A client that aborts with a reset while the server is answering
    ...    does not stop the server.
    [Tags]    robustness
    [Template]    NONE
    Given A Client
    And It Has Been Answered    before the reset
    When It Sends And Resets Before Reading The Reply
    Then A New Client Is Answered Too

Two Clients At Once Are Each Answered
    [Documentation]    While one client stays connected, another one is answered.
    ...    Beyond the seed, which serves one client at a time.
    [Tags]    concurrency    beyond-seed
    [Template]    NONE
    Given Two Clients
    Then Client "second" Is Answered    from the second client
    And Client "first" Is Answered    from the first client


*** Keywords ***
Message Should Come Back With The Current Time
    [Documentation]    A new client sends ``message`` and gets the time followed by it.
    [Arguments]    ${message}
    Open Client
    It Has Been Answered    ${message}

It Has Been Answered
    [Documentation]    Send ``message``; the reply is the current time followed by it.
    [Arguments]    ${message}
    Send    ${message}
    ${escaped}    Evaluate    re.escape($message)
    IF    $TIMESTAMP_FORMAT == 'bracket'
        ${_}    ${stamp}    Reply Should Match    \\[(${CTIME})\\] ${escaped}
    ELSE
        ${_}    ${stamp}    Reply Should Match    (${CTIME})${escaped}
    END
    The Time Should Be Current    ${stamp}

The Time Should Be Current
    [Documentation]    The ctime text is within ``CLOCK_TOLERANCE`` seconds of this clock.
    [Arguments]    ${stamp}
    ${skew}    Evaluate    round(abs(time.time() - time.mktime(time.strptime($stamp))), 1)
    VAR    ${problem}    The reply's time '${stamp}' is ${skew} seconds away from this
    ...    machine's clock, which allows ${CLOCK_TOLERANCE}.
    Should Be True    ${skew} <= ${CLOCK_TOLERANCE}    ${problem}

Each Of ${count} Messages Comes Back With The Current Time
    [Documentation]    Send numbered messages one by one, each answered before the next.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        It Has Been Answered    message number ${number}
    END

Client "${alias}" Is Answered
    [Documentation]    Switch to the named client; its ``message`` gets the time followed by it.
    [Arguments]    ${message}
    Switch Connection    ${alias}
    It Has Been Answered    ${message}

It Sends And Resets Before Reading The Reply
    [Documentation]    Send a message and abort the connection with an RST at once.
    Send    this reply will never be read
    Reset Connection

It Leaves
    [Documentation]    The current client closes its connection.
    Close Connection

A New Client Is Answered Too
    [Documentation]    The server process still runs, and a client connecting now gets its
    ...    time-stamped reply.
    The Server Process Should Still Run
    Message Should Come Back With The Current Time    from the second client
