*** Settings ***
Documentation       HTTP fetch client (seed: lesson 004's client).
...
...                 Run as ``CLIENT_CMD --host HOST --port PORT``, the client resolves the
...                 host (``gethostbyname``), connects, sends ``GET / HTTP/1.1`` followed by
...                 an empty line (``\\r\\n\\r\\n``), and prints everything the server sends
...                 until it closes the connection. Then it exits with code 0. A socket error
...                 or a host that does not resolve is reported, and the exit code is then
...                 not 0.
...
...                 Here the suite is the web server.
Resource            ${{ SocketLibrary.CLIENT_RESOURCE }}
Test Setup          A Server Listening On TCP
Test Teardown       Stop The Client And Close Connections
Test Tags           tcp    http    client
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${REQUEST}      GET / HTTP/1.1\r\n\r\n
${HEAD}         HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n
# A host name that never resolves (RFC 6761).
${NO_HOST}      no-such-host.invalid


*** Test Cases ***
It Sends A GET Request For The Root
    [Documentation]    The client sends exactly ``GET / HTTP/1.1``, CR LF, and an empty
    ...    line: nothing before it, nothing after it.
    Given A Connected Client
    Then The Server Receives "${REQUEST}"
    And Nothing More Arrives

It Prints The Whole Response Until The Server Closes
    [Documentation]    Everything the server sends, in however many pieces, is printed, and
    ...    the client exits with code 0 once the server has closed.
    VAR    ${body}    ${{ 'line of the page\\n' * 4000 }}
    Given A Connected Client
    When The Server Receives "${REQUEST}"
    And The Server Replies "${HEAD}" In Segments
    And The Server Sends "${body}" And Closes
    Then The Client Prints "${body}"
    And It Exits With Code 0

A Refused Connection Is Reported
    [Documentation]    With nobody listening, the client says so and exits with a code
    ...    other than 0.
    [Setup]    No Server Listening
    When Start The Client    http
    Then It Reports An Error And Exits Non-Zero

A Host That Does Not Resolve Is Reported
    [Documentation]    When the host name does not resolve, the client says so and exits
    ...    with a code other than 0.
    [Setup]    A Server Listening On TCP
    When The Client Is Started For    ${NO_HOST}
    Then It Reports An Error And Exits Non-Zero


*** Keywords ***
A Connected Client
    [Documentation]    Start the HTTP client and accept its connection.
    Start The Client    http
    The Client Connects

Nothing More Arrives
    [Documentation]    The client sends nothing after its request while it waits for the
    ...    response.
    No Reply Within    100ms

The Server Sends "${text}" And Closes
    [Documentation]    Send the text, then close the connection: the end of the response.
    Send    ${text}
    Close Connection

The Client Is Started For
    [Documentation]    Start the HTTP client with another host than the suite's.
    [Arguments]    ${host}
    Start The Client    http    host=${host}
